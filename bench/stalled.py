"""Readers that stop reading: W1's overload runs hold some beside the load generator's.

Each is a WebSocket opened by hand with a small receive buffer (as a phone on a bad link
has): it upgrades, subscribes to the room, and then never reads again, so what the server
writes to it backs up in the server. The overload policy should shed them (1013) rather
than let them slow the others; a server without one keeps buffering for them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from collections.abc import Sequence
from typing import Any

RECEIVE_BUFFER = 4096


def _masked_text(text: str) -> bytes:
    """One masked text frame, as a client must send it (short payloads only)."""
    payload = text.encode()
    assert len(payload) < 126
    mask = os.urandom(4)
    return (
        bytes([0x81, 0x80 | len(payload)])
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


async def _open(spec: dict[str, Any], room: str) -> socket.socket:
    host_port, _, path = spec["url"].removeprefix("ws://").partition("/")
    host, _, port = host_port.partition(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    auth = f"Authorization: Bearer {spec['token']}\r\n" if spec.get("token") else ""
    head = (
        f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\n{auth}\r\n"
    )
    await loop.sock_sendall(sock, head.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = await loop.sock_recv(sock, 1)
        if not chunk:
            raise ConnectionError("closed during the upgrade")
        answer += chunk
    if not answer.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(answer.split(b"\r\n", 1)[0].decode("latin-1"))
    frame = json.dumps({"type": "subscribe", "room": room, "since": None})
    await loop.sock_sendall(sock, _masked_text(frame))
    return sock


class Stalled:
    """`count` stalled readers of `room`, opened with `specs` (the load generator's)."""

    def __init__(self) -> None:
        self.socks: list[socket.socket] = []

    async def open(self, specs: Sequence[dict[str, Any]], room: str) -> None:
        self.socks = list(await asyncio.gather(*(_open(s, room) for s in specs)))
        # Time for the subscribes to be answered before they stop reading.
        await asyncio.sleep(1)

    def close(self) -> None:
        for sock in self.socks:
            # A reset, as a vanished phone would leave: nothing more to flush to them.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        self.socks = []

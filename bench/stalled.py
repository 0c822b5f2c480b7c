"""Readers that stop reading: W1's overload runs hold some beside the load generator's.

Each is a WebSocket opened by hand with a small receive buffer (as a phone on a bad link
has, `tests.sockets.open_raw`): it upgrades, subscribes to the room, and then never reads
again, so what the server writes to it backs up in the server. The overload policy should
shed them (1013) rather than let them slow the others; a server without one keeps
buffering for them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Sequence
from typing import Any

from tests.sockets import client_frame, open_raw


def _open(spec: dict[str, Any], room: str) -> socket.socket:
    sock = open_raw(spec["url"], spec.get("token"))
    sock.sendall(client_frame(json.dumps({"type": "subscribe", "room": room, "since": None})))
    return sock


class Stalled:
    """Stalled readers of a room, one for each of the load generator's `specs`."""

    def __init__(self) -> None:
        self.socks: list[socket.socket] = []

    async def open(self, specs: Sequence[dict[str, Any]], room: str) -> None:
        self.socks = list(await asyncio.gather(*(asyncio.to_thread(_open, s, room) for s in specs)))
        # Time for the subscribes to be answered before they stop reading.
        await asyncio.sleep(1)

    def close(self) -> None:
        for sock in self.socks:
            # A reset, as a vanished phone would leave: nothing more to flush to them.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        self.socks = []

"""Sockets for tests and benches that need a connection but no client behind it."""

from __future__ import annotations

import base64
import os
import socket
import struct
from collections.abc import Iterator


class NullSocket:
    """A socket that takes every frame at once and keeps none (`chat.outbound.DirectSocket`)."""

    async def send_text(self, data: str) -> None:
        return None

    async def close(self, code: int, reason: str) -> None:
        return None

    def abort(self) -> None:
        return None

    def direct(self) -> NullSocket:
        return self

    def ready(self) -> bool:
        return True

    def write_text(self, data: str) -> None:
        return None


def raw_frame(payload: bytes, opcode: int = 1, fin: bool = True, rsv1: bool = False) -> bytes:
    """One masked client frame, built by hand (for what a polite client library never sends)."""
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 2**16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def client_frame(text: str) -> bytes:
    """One masked text frame, as a client must send it."""
    return raw_frame(text.encode())


def server_frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(opcode, payload) of each complete (unmasked) server frame at the start of `data`;
    a frame cut short, even inside its header, ends them."""
    at = 0
    while at + 2 <= len(data):
        opcode, n = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if n == 126:
            if at + 2 > len(data):
                return
            n = struct.unpack("!H", data[at : at + 2])[0]
            at += 2
        elif n == 127:
            if at + 8 > len(data):
                return
            n = struct.unpack("!Q", data[at : at + 8])[0]
            at += 8
        if at + n > len(data):
            return
        yield opcode, data[at : at + n]
        at += n


def close_frame_code(payload: bytes) -> int:
    """The code of a close frame's payload."""
    code: int = struct.unpack("!H", payload[:2])[0]
    return code


def open_raw(url: str, token: str | None, receive_buffer: int | None = 4096) -> socket.socket:
    """A WebSocket to `url` (ws://host:port/path) by hand. The head is read a byte at a
    time, so whatever follows the 101 is still in the socket. By default the receive buffer
    is tiny, so that not reading really backs up what the server writes to it; None keeps
    the kernel's."""
    host_port, _, path = url.removeprefix("ws://").partition("/")
    host, _, port = host_port.partition(":")
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(10)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    sock.sendall(
        (
            f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{auth}\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed during the upgrade")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode("latin-1"))
    return sock

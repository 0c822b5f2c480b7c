"""Experiment (not project code): `werkplaats serve` with a direct-write fast path patched in.

Run like `werkplaats serve` (same WERKPLAATS_* environment): `python fastpath_serve.py PORT`;
the numbers it gave are in docs/performance.md (W1, "what would make it fast").

When a connection's outbound queue is empty and its writer task is idle, `offer` writes the
WebSocket frame straight to the transport, and the frame bytes are built once per event
(the same str object is offered to every subscriber). FAST=0 serves unpatched.
"""

import os
import sys

import uvicorn
from websockets.protocol import OPEN

import chat.outbound as ob

_cache = [None, b""]


def frame_bytes(text):
    if _cache[0] is text:
        return _cache[1]
    payload = text.encode()
    n = len(payload)
    if n < 126:
        head = bytes([0x81, n])
    elif n < 65536:
        head = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + n.to_bytes(8, "big")
    _cache[0], _cache[1] = text, head + payload
    return _cache[1]


def find_proto(send, depth=0):
    owner = getattr(send, "__self__", None)
    if owner is not None and hasattr(owner, "conn") and hasattr(owner, "transport"):
        return owner
    if depth > 8:
        return None
    for cell in getattr(send, "__closure__", None) or ():
        try:
            found = find_proto(cell.cell_contents, depth + 1)
        except ValueError:
            continue
        if found is not None:
            return found
    return None


orig_offer = ob.Outbound.offer


def offer(self, frame, ephemeral=False):
    if not self.closing and not self.frames and getattr(self, "_idle", False):
        proto = getattr(self, "_proto", None)
        if proto is None:
            proto = self._proto = find_proto(self.socket.websocket._send) or False
        if (
            proto
            and proto.writable.is_set()
            and not proto.transport.is_closing()
            and proto.conn.state is OPEN
        ):
            proto.transport.write(frame_bytes(frame))
            self.sent_messages += 1
            return True
    return orig_offer(self, frame, ephemeral)


async def _write(self):
    try:
        while not self.closing:
            self._idle = True
            await self._ready.wait()
            self._idle = False
            self._ready.clear()
            while self.frames and not self.closing:
                await self.socket.send_text(self._take_batch())
                self.sent_messages += 1
    except Exception:
        self._idle = False
        self.closing = True
        self.closed.set()
        self._room.set()


if os.environ.get("FAST", "1") == "1":
    ob.Outbound.offer = offer
    ob.Outbound._write = _write

uvicorn.run(
    "web.app:app_from_env",
    factory=True,
    host="127.0.0.1",
    port=int(sys.argv[1]),
    log_level="warning",
    access_log=False,
    ws_per_message_deflate=False,
    ws_max_size=65536,
    server_header=False,
    http="web.guard:GuardedHttpToolsProtocol",
)

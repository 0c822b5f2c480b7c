"""uvicorn's HTTP protocol with deadlines for the request head and body (slow-loris defence).

uvicorn waits as long as it takes for a request's headers and body: a client that opens a
TCP connection and sends its (WebSocket upgrade) request one byte at a time holds a socket,
a parser and memory for ever, and a few thousand such clients exhaust the file descriptors
that real clients need. `GuardedHttpToolsProtocol` closes a connection
- whose request line and headers have not all arrived `head_timeout_seconds` (a setting)
  after the connection opened (or, on a kept-alive connection, after the next request
  began), or
- whose request body has not all arrived `body_timeout_seconds` after its headers, or, for
  a file upload (web/bodylimit.py `FILE_PATH`), that sends no byte of its body for
  `upload_idle_seconds`: a large file on a slow link takes as long as it takes, a stalled
  one ends.
Other connections are not affected: a deadline is a timer on the event loop, not a blocking
read. A WebSocket upgrade leaves HTTP once its head is complete; `/ws` has its own limits.
An upgrade of `/ws` that the set-up gate would refuse at once is answered here (503 with
`Retry-After`, `web.ws.refusal_now`), before the WebSocket handshake is parsed.

`werkplaats serve` selects it with `uvicorn.run(http="web.guard:GuardedHttpToolsProtocol")`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from functools import cache
from typing import Any

from web.admission import SETUP_GATE_STATE
from web.bodylimit import FILE_PATH
from web.internals import HttpToolsProtocol, check_subclass
from web.settings import Settings, load_settings
from web.ws import refusal_now

log = logging.getLogger("werkplaats.http")


@cache
def _settings() -> Settings:
    """This process's settings: uvicorn makes the protocol from a name, so each worker
    reads them from its environment, once."""
    return load_settings()


def _deadlines() -> tuple[float, float, float]:
    settings = _settings()
    return (
        settings.head_timeout_seconds,
        settings.body_timeout_seconds,
        settings.upload_idle_seconds,
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` that drops a connection whose request head or body is late.

    It overrides uvicorn's callbacks (named in `web.internals`) and keeps its own state:
    the transport it was given and the timer, on the running loop.
    """

    # None: the settings' deadlines.
    head_timeout: float | None = None
    body_timeout: float | None = None
    upload_idle: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = (self.head_timeout, self.body_timeout, self.upload_idle)
        # The settings are read only when a deadline is left to them.
        fallback = _deadlines() if None in own else (0.0, 0.0, 0.0)
        self._head_timeout, self._body_timeout, self._upload_idle = (
            o if o is not None else d for o, d in zip(own, fallback, strict=True)
        )
        self._deadline: asyncio.TimerHandle | None = None
        self._guarded: asyncio.Transport | None = None
        self._uploading = False

    def _arm(self, what: str, seconds: float) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(seconds, self._too_late, what, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_late(self, what: str, seconds: float) -> None:
        self._deadline = None
        transport = self._guarded
        if transport is None:
            return
        peer = transport.get_extra_info("peername")
        client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "-"
        log.warning("http: request %s not complete after %.0fs; closed %s", what, seconds, client)
        transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._guarded = transport
        self._arm("head", self._head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm("head", self._head_timeout)

    def on_headers_complete(self) -> None:
        path = bytes(self.url).split(b"?", 1)[0].decode("latin-1")
        self._uploading = FILE_PATH.fullmatch(path) is not None
        self._arm("body", self._upload_idle if self._uploading else self._body_timeout)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        if self._uploading:
            self._arm("body", self._upload_idle)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        gate = self.app_state.get(SETUP_GATE_STATE)
        if gate is not None and bytes(self.url).split(b"?", 1)[0] == b"/ws":
            refused = refusal_now(gate, self.server_state.default_headers)
            if refused is not None:
                # Over the set-up gate: answered here, the handshake never parsed.
                self._guarded_close(refused)
                return
        size = _settings().ws_send_buffer_bytes
        sock = self._guarded.get_extra_info("socket") if size and self._guarded else None
        if sock is not None:
            # Bounds what a stalled reader holds in the kernel, so that its frames soon wait
            # in its queue, where the lag policy sees them (1013). Where the socket refuses,
            # the kernel's own sizing stays.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        super().handle_websocket_upgrade()

    def _guarded_close(self, answer: bytes) -> None:
        transport = self._guarded
        if transport is not None:
            transport.write(answer)
            transport.close()


check_subclass(GuardedHttpToolsProtocol)

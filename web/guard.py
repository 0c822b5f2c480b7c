"""uvicorn's HTTP protocol with deadlines for the request head and body (slow-loris defence).

uvicorn waits as long as it takes for a request's headers and body: a client that opens a
TCP connection and sends its (WebSocket upgrade) request one byte at a time holds a socket,
a parser and memory for ever, and a few thousand such clients exhaust the file descriptors
that real clients need. `GuardedHttpToolsProtocol` closes a connection
- whose request line and headers have not all arrived `HEAD_TIMEOUT` seconds after the
  connection opened (or, on a kept-alive connection, after the next request began), or
- whose request body has not all arrived `BODY_TIMEOUT` seconds after its headers, or, for
  a file upload (web/bodylimit.py `FILE_PATH`), that sends no byte of its body for
  `UPLOAD_IDLE` seconds: a large file on a slow link takes as long as it takes, a stalled
  one ends.
Other connections are not affected: a deadline is a timer on the event loop, not a blocking
read. A WebSocket upgrade leaves HTTP once its head is complete; `/ws` has its own limits.

`werkplaats serve` selects it with `uvicorn.run(http="web.guard:GuardedHttpToolsProtocol")`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from web.bodylimit import FILE_PATH
from web.internals import HttpToolsProtocol, check_subclass

log = logging.getLogger("werkplaats.http")

# Browsers and proxies send a request head in one packet; 10 s is generous for a slow mobile
# link and short enough that a slow-loris client holds a socket only briefly. Our request
# bodies are small JSON (at most 64 KiB), so 30 s covers a very slow link. The tests set
# shorter ones through the environment.
HEAD_TIMEOUT = float(os.environ.get("WERKPLAATS_HEAD_TIMEOUT_SECONDS") or 10.0)
BODY_TIMEOUT = float(os.environ.get("WERKPLAATS_BODY_TIMEOUT_SECONDS") or 30.0)
# An upload is many megabytes; what is bounded is the silence between its chunks.
UPLOAD_IDLE = float(os.environ.get("WERKPLAATS_UPLOAD_IDLE_SECONDS") or 60.0)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` that drops a connection whose request head or body is late.

    It overrides uvicorn's callbacks (named in `web.internals`) and keeps its own state:
    the transport it was given and the timer, on the running loop.
    """

    head_timeout = HEAD_TIMEOUT
    body_timeout = BODY_TIMEOUT
    upload_idle = UPLOAD_IDLE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
        self._arm("head", self.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm("head", self.head_timeout)

    def on_headers_complete(self) -> None:
        path = bytes(self.url).split(b"?", 1)[0].decode("latin-1")
        self._uploading = FILE_PATH.fullmatch(path) is not None
        self._arm("body", self.upload_idle if self._uploading else self.body_timeout)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        if self._uploading:
            self._arm("body", self.upload_idle)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()


check_subclass(GuardedHttpToolsProtocol)

"""uvicorn's HTTP protocol with a deadline for the request head (slow-loris defence).

uvicorn waits as long as it takes for a request's headers: a client that opens a TCP
connection and sends its (WebSocket upgrade) request one byte at a time holds a socket,
a parser and memory for ever, and a few thousand such clients exhaust the file descriptors
that real clients need. `GuardedHttpToolsProtocol` closes a connection whose request line and
headers have not all arrived `HEAD_TIMEOUT` seconds after the connection opened (or, on a
kept-alive connection, after the next request began). Other connections are not affected:
the deadline is a timer on the event loop, not a blocking read.

`werkplaats serve` selects it with `uvicorn.run(http="web.guard:GuardedHttpToolsProtocol")`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("werkplaats.http")

# Browsers and proxies send a request head in one packet; 10 s is generous for a slow mobile
# link and short enough that a slow-loris client holds a socket only briefly. The tests set a
# shorter one through the environment.
HEAD_TIMEOUT = float(os.environ.get("WERKPLAATS_HEAD_TIMEOUT_SECONDS") or 10.0)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` that drops a connection whose request head is late."""

    head_timeout = HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_too_late)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_late(self) -> None:
        self._head_deadline = None
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
        log.warning(
            "http: request head not complete after %.0fs; closed %s", self.head_timeout, client
        )
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

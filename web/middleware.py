"""Pure-ASGI middleware: one structured log line per request (headers: web/headers.py)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("werkplaats.http")


def escape(text: str, limit: int = 200) -> str:
    """User-supplied text for a log line: control characters escaped, length bounded."""
    text = text[:limit]
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


class HTTPMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # The path only: query strings may carry search terms, which are personal text.
            log.info(
                "http method=%s path=%s status=%d ms=%.1f client=%s",
                scope["method"],
                escape(scope["path"]),
                status,
                (time.perf_counter() - start) * 1000,
                scope["client"][0] if scope.get("client") else "-",
            )

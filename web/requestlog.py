"""A request id and one log line per HTTP request; one line per WebSocket open and close.

Every request gets an id, returned as `X-Request-ID` and put on each log line written
while it is served (`web.logs.REQUEST_ID`). Behind trusted proxies (`trusted_proxies`) a
proxy's own `X-Request-ID` is kept when it is a plain token, so that the proxy's log and
ours join up; from anyone else a client could only muddle the log with it.
The lines hold the method, the path without its query string (search terms are personal
text; `/ws?token=…` a credential), the status, the time taken and the client address,
never a body, a token or a password; a calendar feed's secret address is logged without
its secret.
"""

from __future__ import annotations

import logging
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.logs import REQUEST_ID

log = logging.getLogger("werkplaats.http")
ws_log = logging.getLogger("werkplaats.ws")

HEADER = b"x-request-id"
# Paths that carry a one-time token (an invitation link): the token is not logged.
_TOKEN_IN_PATH = re.compile(r"^(/api/invitations/)[^/]+")
_PLAIN_ID = re.compile(rb"[A-Za-z0-9._:-]{8,64}")
# The secret in a calendar feed's address is the credential of its owner's feed.
_FEED_SECRET = re.compile(r"^/api/calendar/[^/]*")


def new_request_id(given: str | None = None) -> str:
    """An id for this request or connection (`given`, else a fresh one), set for the log
    lines that follow."""
    request_id = given or os.urandom(8).hex()
    REQUEST_ID.set(request_id)
    return request_id


def escape(text: str, limit: int = 200) -> str:
    """User-supplied text for a log line: control characters escaped, length bounded."""
    text = text[:limit]
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _PLAIN_ID.fullmatch(value) else None
    return None


class RequestLogMiddleware:
    """Pure ASGI: the request id (set, and returned as a header) and the request's log line."""

    def __init__(self, app: ASGIApp, *, trust_incoming_id: bool = False) -> None:
        self.app = app
        self.trust_incoming_id = trust_incoming_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        # Not reset afterwards: uvicorn serves each request in a task of its own, so the id
        # ends with it, and uvicorn's own line about a failed request still carries it.
        given = _incoming_id(scope) if self.trust_incoming_id else None
        request_id = new_request_id(given)
        header = (HEADER, request_id.encode("ascii"))

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": escape(
                        _TOKEN_IN_PATH.sub(
                            r"\1***", _FEED_SECRET.sub("/api/calendar/<secret>", scope["path"])
                        )
                    ),
                    "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                    "client": scope["client"][0] if scope.get("client") else "-",
                },
            )


def ws_opened(username: str, conn_id: int) -> float:
    """Log a WebSocket that was accepted; returns its start time for `ws_closed`."""
    ws_log.info("ws open", extra={"user": username, "conn": conn_id})
    return time.monotonic()


def ws_closed(username: str, conn_id: int, code: int | None, started: float) -> None:
    """Log the end of a WebSocket: who, how long, and the close code (1006: dropped)."""
    ws_log.info(
        "ws close",
        extra={
            "user": username,
            "conn": conn_id,
            "code": code if code is not None else 1006,
            "seconds": round(time.monotonic() - started, 3),
        },
    )

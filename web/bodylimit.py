"""Request bodies limited while they stream in: 413 `too_large` before the limit is in memory.

Every HTTP request passes here. Its limit is decided in one place, `limit_for`: none for a
method that takes no body, 64 KiB for the JSON API, more only for the paths that take files.
- A `Content-Length` over the limit is answered at once, before a byte of the body is read.
- A body that streams (chunked, or longer than it said) is counted as the app reads it;
  the read that would pass the limit raises `TooLarge`, which the app's handler of domain
  errors answers with 413 (or this middleware does, if nothing answered yet).
- Any answer given before its request's body was read to the end closes the connection,
  so the server does not go on reading (and discarding) what the client still sends.
uvicorn holds at most 64 KiB of a body the app has not asked for (it stops reading the
socket beyond that), so with this no request costs more memory than its limit and a chunk.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rooms.errors import TooLarge
from web.responses import error_response

KIB = 1024
MIB = 1024 * KIB
# The largest JSON body an endpoint reads (a meeting's programme: 20,000 characters).
JSON_LIMIT = 64 * KIB
# A shared file (docs/files.md; default 25 MiB, WERKPLAATS_FILES_MAX_BYTES), with room
# for the form around it. The upload itself stops at the file's own limit (web/uploads.py).
FILE_LIMIT = 25 * MIB
FORM_OVERHEAD = 64 * KIB
# A meeting's report: 200,000 characters (rooms.verslag), up to 4 bytes each, and JSON.
REPORT_LIMIT = 1 * MIB
REPORT_PATH = re.compile(r"/api/meetings/[^/]+/report(/preview)?")
NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FILE_PATH = re.compile(r"/api/(rooms|meetings)/[^/]+/files")


def limit_for(method: str, path: str, file_limit: int = FILE_LIMIT) -> int:
    """The most bytes of body a request to `method path` may carry."""
    if method in NO_BODY:
        return 0
    if method == "POST" and FILE_PATH.fullmatch(path):
        return file_limit + FORM_OVERHEAD
    if method in ("PUT", "POST") and REPORT_PATH.fullmatch(path):
        return REPORT_LIMIT
    return JSON_LIMIT


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"request body over {limit} bytes")


class BodyLimit:
    """Pure-ASGI middleware that enforces `limit_for` on every HTTP request."""

    def __init__(self, app: ASGIApp, file_limit: int = FILE_LIMIT) -> None:
        self.app = app
        self.file_limit = file_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"], self.file_limit)
        length = _header(scope, b"content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        if declared is not None and declared > limit:
            await _refuse(scope, send, _too_large(limit))
            return
        chunked = (_header(scope, b"transfer-encoding") or b"").lower() == b"chunked"
        unread = chunked or bool(declared)
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received, unread
            if received > limit:
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                unread = bool(message.get("more_body", False))
                if received > limit:
                    raise _too_large(limit)
            return message

        async def closing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if unread or received > limit:
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, limited_receive, closing_send)
        except TooLarge as exc:
            if started:
                raise
            await _refuse(scope, send, exc)


async def _refuse(scope: Scope, send: Send, exc: TooLarge) -> None:
    response = error_response(exc.code, exc.message, exc.status)
    response.headers["connection"] = "close"
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}

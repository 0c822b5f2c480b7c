"""JSON responses with orjson, and the contract's error body."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from rooms.errors import BadRequest, DomainError, TooLarge

T = TypeVar("T")


class JSON(Response):
    """JSON values, dataclasses and the Structs of `web.wire` (`msgspec.to_builtins`)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=msgspec.to_builtins)


def error_response(code: str, message: str, status: int, retry_after: float | None = None) -> JSON:
    headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else None
    return JSON({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return error_response(exc.code, exc.message, exc.status, exc.retry_after)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, read as it streams in and refused with `too_large` (413) as soon as
    it is longer than `max_bytes`: a large body is never held whole. A `Content-Length`
    over its path's limit was refused before (web/bodylimit.py); one over a smaller
    `max_bytes` is refused here at the read that passes it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"request body over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def body_as(request: Request, model: type[T], max_bytes: int = 64 * 1024) -> T:
    """The request body decoded as `model`, or a `bad_request` error naming the field."""
    raw = await read_body(request, max_bytes)
    try:
        # An empty body is an empty object: its required fields are then what is missing.
        return msgspec.json.decode(raw or b"{}", type=model)
    except msgspec.ValidationError as exc:
        raise BadRequest(_explain(str(exc), "field")) from None
    except msgspec.DecodeError:
        raise BadRequest("request body is not valid JSON") from None


def query_as(request: Request, model: type[T]) -> T:
    """The query parameters as `model` (an empty one counts as absent), or `bad_request`."""
    given = {k: v for k, v in request.query_params.items() if v != ""}
    try:
        return msgspec.convert(given, model, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(_explain(str(exc), "query parameter")) from None


_UNKNOWN = re.compile(r"Object contains unknown field `(.*)`")
_MISSING = re.compile(r"Object missing required field `(.*)`")
_AT = re.compile(r"(.*) - at `\$\.?(.*)`")


def _explain(message: str, what: str) -> str:
    """msgspec's message in the contract's words: which field, and what was wrong with it."""
    at = _AT.fullmatch(message)
    text, path = (at.group(1), at.group(2)) if at else (message, "")
    if unknown := _UNKNOWN.fullmatch(text):
        return f"unknown {what} {unknown.group(1)!r}"
    if missing := _MISSING.fullmatch(text):
        name = f"{path}.{missing.group(1)}" if path else missing.group(1)
        return f"{what} {name!r} is required"
    if not path:
        return "request body must be a JSON object" if "Expected `object`" in text else text
    return f"{what} {path!r}: {text}"

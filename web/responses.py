"""JSON responses with orjson, and the contract's error body."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rooms.errors import BadRequest, DomainError, TooLarge


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(code: str, message: str, status: int, retry_after: float | None = None) -> JSON:
    headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else None
    return JSON({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return error_response(exc.code, exc.message, exc.status, exc.retry_after)


async def json_body(request: Request, max_bytes: int = 64 * 1024) -> dict[str, Any]:
    """The request body as a JSON object, or a `bad_request` error saying what was wrong.

    The body is read as it streams in and refused with `too_large` (413) as soon as it is
    longer than `max_bytes`: a large body is never held whole (web/bodylimit.py does the
    same for every request, with the limit of its path).
    """
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise TooLarge(f"request body over {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"request body over {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def str_field(
    data: dict[str, Any], name: str, *, required: bool = True, max_len: int = 4000
) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"field {name!r} must be a string")
    if len(value) > max_len:
        raise BadRequest(f"field {name!r} is longer than {max_len} characters")
    return value


def int_param(request: Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be a whole number") from None
    if not lo <= value <= hi:
        raise BadRequest(f"query parameter {name!r} must be between {lo} and {hi}")
    return value

"""GET /ws-schema.json: the JSON Schema of the `/ws` frames, generated from their structs."""

from __future__ import annotations

from functools import cache

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from chat.frames import schema


@cache
def _document() -> bytes:
    return msgspec.json.encode(schema())


async def ws_schema_json(request: Request) -> Response:
    """The frames both ways: `$defs/ClientFrame` and `$defs/ServerFrame` are the unions."""
    return Response(_document(), media_type="application/json")

"""The HTTP API's bodies and query parameters as msgspec Structs, with their limits.

A module per API area. The handlers decode requests with them (`web.responses.body` and
`web.responses.query`), and `web.openapi` builds `/openapi.json` from them, so a limit is
written once. Patterns are anchored for JSON Schema; the handlers still check a slug or a
username with `fullmatch`, since `$` also matches before a final newline.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from persistence import models
from persistence.authors import AuthorRow

SLUG_PATTERN = "^[a-z0-9-]{1,64}$"
USERNAME_PATTERN = "^[a-z0-9._-]{2,32}$"
# Ids beyond this cannot exist (BIGINT) and would make the database driver overflow.
MAX_ID = 2**62

Slug = Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]
Username = Annotated[str, msgspec.Meta(pattern=USERNAME_PATTERN)]
Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_ID)]
Moment = Annotated[str, msgspec.Meta(max_length=64, extra_json_schema={"format": "date-time"})]
Day = Annotated[str, msgspec.Meta(max_length=64, extra_json_schema={"format": "date"})]
# A user named in a body: trimmed and lower-cased by the handler before it is checked.
UserField = Annotated[str, msgspec.Meta(max_length=64)]
# A reason is cleaned and trimmed before `rooms.moderation.check_reason` bounds it.
Reason = Annotated[str, msgspec.Meta(max_length=1100)]
Object = dict[str, Any]


class Struct(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A response body or part of one: more fields may come (additions are allowed)."""


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body: exactly these fields (the server refuses unknown ones)."""


class Query(msgspec.Struct, kw_only=True):
    """Query parameters (others are ignored)."""


def envelope(name: str, **fields: Any) -> type[msgspec.Struct]:
    """A response body of one or a few named parts, such as `{"ban": Restriction}`."""
    return msgspec.defstruct(name, list(fields.items()), bases=(Struct,), kw_only=True)


class Author(Struct):
    username: str
    display_name: str
    organisation: str
    layer: str


def author(user: models.User | models.Member) -> Author:
    return Author(
        username=user.username,
        display_name=user.display_name,
        organisation=user.organisation,
        layer=user.layer,
    )


def author_wire(user: models.User | models.Member | AuthorRow) -> dict[str, Any]:
    """An author as a plain dict, for bodies still built as dicts."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "organisation": user.organisation,
        "layer": user.layer,
    }


class User(Author):
    role: str


def user(found: models.User | models.Member) -> User:
    """A user as the session and profile endpoints show them."""
    return User(**msgspec.structs.asdict(author(found)), role=found.role)


class Event(Struct):
    type: str
    room: str
    seq: int


ErrorCode = Literal[
    "bad_request",
    "bad_credentials",
    "unauthenticated",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "gone",
    "weak_password",
    "too_large",
    "unsupported_type",
    "infected",
    "rate_limited",
    "muted",
    "room_locked",
    "unavailable",
    "internal",
]


class ErrorDetail(Struct):
    code: ErrorCode
    message: str


Error = envelope("Error", error=ErrorDetail)

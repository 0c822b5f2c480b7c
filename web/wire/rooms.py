"""Rooms, their history, and search."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from persistence import models
from persistence.events import MAX_PAGE
from persistence.handshake import RoomListing
from persistence.search import DEFAULT_LIMIT, MAX_LIMIT, Sort
from persistence.search.query import MAX_QUERY_CHARS
from rooms.marks import MarkKind
from rooms.model import Layer
from web.wire import Author, Event, Id, Moment, Query, Seq, Slug, Struct, Username, envelope

# The same rooms as `hello`'s (chat.frames.Hello).
RoomList = envelope("RoomList", rooms=list[RoomListing])


class EventsQuery(Query):
    """One of `after` (ascending), `before` or `around` (the page around that seq)."""

    after: Seq | None = None
    before: Id | None = None
    around: Id | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)] = 100


class EventPage(Struct):
    events: list[Event]
    last_seq: int
    has_more: bool
    has_more_before: bool | None = None
    has_more_after: bool | None = None


class SearchQuery(Query):
    """Search terms and filters (docs/search.md)."""

    q: Annotated[str, msgspec.Meta(max_length=MAX_QUERY_CHARS)] = ""
    room: str | None = None
    author: Username | None = None
    layer: Layer | None = None
    after: Moment | None = None
    before: Moment | None = None
    since_meeting: str | None = None
    mark: MarkKind | None = None
    open: Literal["1", "true", "0", "false"] | None = None
    theme: Slug | None = None
    sort: Sort = Sort.RELEVANCE
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    cursor: str | None = None


class SearchHit(Struct):
    room: str
    seq: int
    message_id: int
    author: Author
    created_at: str
    snippet: str


class SearchPage(Struct):
    hits: list[SearchHit]
    next_cursor: str | None


class RoomSettings(Struct):
    """A room's settings as the moderation and meeting endpoints answer them."""

    slug: str
    name: str
    kind: str
    topic: str | None
    locked: bool
    archived: bool
    slow_mode_seconds: int
    last_seq: int


def room_wire(room: models.Room) -> RoomSettings:
    return RoomSettings(
        slug=room.slug,
        name=room.name,
        kind=room.kind,
        topic=room.topic,
        locked=room.locked,
        archived=room.archived,
        slow_mode_seconds=room.slow_mode_seconds,
        last_seq=room.last_seq,
    )

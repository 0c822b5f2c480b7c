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
    # only the events of this topic's messages (with `after` or `before`)
    topic: Annotated[str, msgspec.Meta(max_length=240)] | None = None


class EventPage(Struct):
    events: list[Event]
    last_seq: int
    has_more: bool
    has_more_before: bool | None = None
    has_more_after: bool | None = None


class TopicCount(Struct):
    name: str
    count: int
    last_seq: int


TopicList = envelope("TopicList", topics=list[TopicCount])


class TopicRename(Struct):
    """Rename topic `old` to `new` in the room (a merge when `new` exists already)."""

    old: Annotated[str, msgspec.Meta(min_length=1, max_length=240)]
    new: Annotated[str, msgspec.Meta(min_length=1, max_length=240)]
    reason: Annotated[str, msgspec.Meta(max_length=1000)]


class TopicRenamed(Struct):
    old: str
    new: str
    messages: int
    seq: int


class Version(Struct):
    body: str
    replaced_at: str


class EditHistory(Struct):
    """A message now, and its earlier versions (the body each edit replaced), oldest first."""

    message_id: int
    body: str
    edited_at: str | None
    versions: list[Version]


class PollIn(Struct):
    """A poll: 2 to 10 options; `closes_at` ISO-8601 (Dutch time without an offset)."""

    question: Annotated[str, msgspec.Meta(min_length=1, max_length=1200)]
    options: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=400)]], msgspec.Meta(max_length=32)
    ]
    multiple: bool = False
    anonymous: bool = False
    closes_at: str | None = None


class VoteIn(Struct):
    """The chosen option numbers (from 0); an empty list withdraws the vote."""

    choices: Annotated[list[Annotated[int, msgspec.Meta(ge=0, le=99)]], msgspec.Meta(max_length=10)]


class PollResults(Struct):
    poll_id: int
    question: str
    options: list[str]
    multiple: bool
    anonymous: bool
    closes_at: str | None
    closed: bool
    counts: list[int]
    voters: int
    votes: dict[str, list[str]] | None = None
    mine: list[int] | None = None


PollAnswer = envelope("PollAnswer", poll=PollResults)
PollList = envelope("PollList", polls=list[PollResults])


class DirectRequest(Struct):
    """The other members of a direct conversation (1 to 9 usernames)."""

    usernames: Annotated[list[Username], msgspec.Meta(max_length=32)]


class DirectRoom(Struct):
    slug: str
    kind: str
    members: list[str]


DirectAnswer = envelope("DirectAnswer", room=DirectRoom)


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
    # a topic (also `topic:naam` in `q`); its former names find it too
    topic: Annotated[str, msgspec.Meta(max_length=240)] | None = None
    sort: Sort = Sort.RELEVANCE
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    cursor: str | None = None
    # the `next_file_cursor` of a previous answer: the next page of `file` hits alone
    file_cursor: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class Hit(Struct, tag_field="kind"):
    """A search hit; `kind` says which: a message, a published meeting report or a file."""


class SearchHit(Hit, tag="message"):
    room: str
    seq: int
    message_id: int
    author: Author
    created_at: str
    snippet: str
    # glossary terms that found this message where the typed words did not
    matched_via: list[str] = msgspec.field(default_factory=list)


class ReportSearchHit(Hit, tag="report"):
    meeting: str
    snippet: str
    title: str
    published_at: str | None


class FileRef(Struct):
    id: int
    name: str


class FileHit(Hit, tag="file"):
    room: str
    message_id: int
    file: FileRef
    snippet: str


class SearchPage(Struct):
    hits: list[SearchHit | ReportSearchHit | FileHit]
    next_cursor: str | None
    # more `file` hits than this page had room for: pass it as `file_cursor`
    next_file_cursor: str | None = None


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

"""Meetings, their agenda, and the between-meetings features: catch-up, marks, overview."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rooms.marks import MarkKind
from rooms.meetings import Since
from web.wire import (
    Body,
    Day,
    Event,
    Id,
    Moment,
    Object,
    Query,
    Reason,
    Seq,
    Slug,
    Struct,
    envelope,
)
from web.wire.rooms import RoomSettings


class Meeting(Struct):
    slug: str
    title: str
    theme: str | None
    date: str
    place: str
    room: str
    programme: str | None = None
    theme_room: str | None = None


class MeetingIn(Body):
    slug: Slug
    title: Annotated[str, msgspec.Meta(max_length=200)]
    theme: Annotated[str, msgspec.Meta(max_length=64)]
    date: Moment
    place: Annotated[str, msgspec.Meta(max_length=200)]
    programme: Annotated[str, msgspec.Meta(max_length=20_000)] | None = None
    reason: Reason | None = None


class MeetingCreated(Struct):
    meeting: Meeting
    room: RoomSettings


Meetings = envelope("Meetings", meetings=list[Meeting])


class MeetingOut(Struct):
    meeting: Meeting
    previous_meeting: Meeting | None


class AgendaQuery(Query):
    """`md` is the Markdown export, for moderators."""

    format: Literal["json", "md"] = "json"


class Agenda(Struct):
    meeting: Meeting
    open_questions: list[Object]
    action_items: list[Object]
    decisions: list[Object]
    may_export: bool


class CatchupQuery(Query):
    since: Since = Since.LAST_MEETING


class Catchup(Struct):
    since: str
    rooms: list[Object]
    read_up_to: Object


class ReadIn(msgspec.Struct, kw_only=True):
    """Read markers to move, room slug to seq (more fields are ignored)."""

    rooms: Annotated[dict[str, Seq], msgspec.Meta(min_length=1, max_length=1000)]


ReadOut = envelope("ReadOut", rooms=dict[str, int])


class MarkIn(msgspec.Struct, kw_only=True):
    """A vraag or actiepunt may name an owner and a due date (more fields are ignored)."""

    kind: MarkKind
    owner: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    due: Day | None = None


class AnsweredIn(msgspec.Struct, kw_only=True):
    reply_id: Id


class TagsIn(msgspec.Struct, kw_only=True):
    themes: Annotated[list[Slug], msgspec.Meta(max_length=100)]


Marked = envelope("Marked", event=Event)


class Overview(Struct):
    themes: list[Object]
    areas: list[Object]
    questions: list[Object]

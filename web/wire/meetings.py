"""Meetings, their agenda, and the between-meetings features: catch-up, marks, overview."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from persistence import models, registrations
from persistence.meetings import MeetingView
from persistence.models import iso
from rooms.marks import ActionStatus, MarkKind
from rooms.meetings import Since
from web.wire import (
    Author,
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
    Username,
    envelope,
)
from web.wire.rooms import RoomSettings


class Counts(Struct):
    going: int
    maybe: int
    waitlist: int
    by_layer: dict[str, int]


class Meeting(Struct):
    """`counts` and `my_registration` come with the meetings API; embedded copies (room
    list, agenda, catch-up) may leave them out."""

    slug: str
    title: str
    theme: str | None
    date: str
    place: str
    room: str
    programme: str | None = None
    theme_room: str | None = None
    ends_at: str | None = None
    status: Literal["planned", "cancelled"] = "planned"
    capacity: int | None = None
    registration_closes_at: str | None = None
    counts: Counts | None = None
    my_registration: Literal["going", "maybe", "waitlist", "not_going"] | None = None
    my_position: int | None = None


def counts_wire(counts: registrations.Counts) -> dict[str, Any]:
    return {
        "going": counts.going,
        "maybe": counts.maybe,
        "waitlist": counts.waitlist,
        "by_layer": counts.by_layer,
    }


def meeting_wire(
    meeting: models.Meeting, themes: dict[int, str], theme_rooms: dict[int, str]
) -> dict[str, Any]:
    """A meeting with the links the client follows: its own room and its theme's room."""
    theme = themes.get(meeting.theme_id) if meeting.theme_id is not None else None
    theme_room = theme_rooms.get(meeting.theme_id) if meeting.theme_id is not None else None
    return {
        "slug": meeting.slug,
        "title": meeting.title,
        "theme": theme,
        "date": iso(meeting.starts_at),
        "place": meeting.place,
        "programme": meeting.programme,
        "room": meeting.slug,
        "ends_at": iso(meeting.ends_at),
        "status": meeting.status,
        "capacity": meeting.capacity,
        "registration_closes_at": iso(meeting.registration_closes_at),
        "theme_room": theme_room,
    }


def full_meeting_wire(
    view: MeetingView, themes: dict[int, str], theme_rooms: dict[int, str]
) -> dict[str, Any]:
    """The contract's meeting object: with `counts` and the caller's `my_registration`.

    `my_position` (added) is the caller's place on the waitlist, 1 the next to move up.
    """
    return {
        **meeting_wire(view.meeting, themes, theme_rooms),
        "counts": counts_wire(view.counts),
        "my_registration": view.registration,
        "my_position": view.position,
    }


Title = Annotated[str, msgspec.Meta(max_length=200)]
Place = Annotated[str, msgspec.Meta(max_length=200)]
Programme = Annotated[str, msgspec.Meta(max_length=20_000)]
# The domain bounds it (rooms.registration.MAX_CAPACITY); below zero is refused here.
Capacity = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]


class MeetingIn(Body):
    slug: Slug
    title: Title
    theme: Annotated[str, msgspec.Meta(max_length=64)]
    date: Moment
    place: Place
    programme: Programme | None = None
    capacity: Capacity | None = None
    registration_closes_at: Moment | None = None
    ends_at: Moment | None = None
    reason: Reason | None = None


class MeetingPatch(Body):
    """Only the fields given change; `null` clears `capacity` (no limit),
    `registration_closes_at` and `ends_at`."""

    title: Title | UnsetType = UNSET
    date: Moment | UnsetType = UNSET
    ends_at: Moment | UnsetType | None = UNSET
    place: Place | UnsetType = UNSET
    programme: Programme | UnsetType = UNSET
    capacity: Capacity | UnsetType | None = UNSET
    registration_closes_at: Moment | UnsetType | None = UNSET
    status: Literal["planned", "cancelled"] | UnsetType = UNSET
    reason: Reason | None = None


MeetingOne = envelope("MeetingOne", meeting=Meeting)


class RegistrationIn(Body):
    status: Literal["going", "maybe", "not_going"]


class Registration(Struct):
    status: Literal["going", "maybe", "waitlist", "not_going"]
    position: int | None


RegistrationOut = envelope("RegistrationOut", registration=Registration)


class PresenceQuery(Query):
    """`csv` is the presence list as a spreadsheet."""

    format: Literal["json", "csv"] = "json"


class Registrant(Struct):
    user: Author
    status: str
    position: int | None
    registered_at: str
    attended: bool | None


Registrations = envelope("Registrations", registrations=list[Registrant])


class AttendanceIn(Body):
    present: Annotated[list[Username], msgspec.Meta(max_length=10_000)]


AttendanceOut = envelope("AttendanceOut", present=int)
CalendarFeed = envelope("CalendarFeed", url=str)


class MeetingCreated(Struct):
    meeting: Meeting
    room: RoomSettings


Meetings = envelope("Meetings", meetings=list[Meeting])


class MeetingOut(Struct):
    """The meeting, with (added) the meeting before it and who is going."""

    meeting: Meeting
    previous_meeting: Meeting | None
    going: list[Author] | None = None


class AgendaQuery(Query):
    """`md` is the Markdown export, for moderators."""

    format: Literal["json", "md"] = "json"


class Agenda(Struct):
    meeting: Meeting
    open_questions: list[Object]
    action_items: list[Object]
    decisions: list[Object]
    may_export: bool
    # Action items gedaan or vervallen since the meeting before ("afgerond").
    completed_actions: list[Object] = msgspec.field(default_factory=list)


class CatchupQuery(Query):
    since: Since = Since.LAST_MEETING


class ReportNews(Struct):
    """A published verslag in the catch-up; `notice` when the member missed the meeting."""

    meeting: str
    title: str
    date: str
    published_at: str
    missed: bool
    notice: str | None


class Catchup(Struct):
    since: str
    reports: list[ReportNews]
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


class ActionStatusIn(msgspec.Struct, kw_only=True):
    status: ActionStatus


class TagsIn(msgspec.Struct, kw_only=True):
    themes: Annotated[list[Slug], msgspec.Meta(max_length=100)]


Marked = envelope("Marked", event=Event)


class Overview(Struct):
    themes: list[Object]
    areas: list[Object]
    questions: list[Object]

"""Moderation: room settings, hide, report, bans, mutes, moderators, members, pins, audit."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from persistence.moderation import MAX_AUDIT_PAGE
from rooms.moderation import MAX_MUTE_MINUTES, MAX_SLOW_MODE_SECONDS
from web.wire import Author, Body, Id, Moment, Query, Reason, Struct, UserField

ReportStatus = Literal["open", "resolved", "dismissed"]
Page = Annotated[int, msgspec.Meta(ge=1, le=MAX_AUDIT_PAGE)]


class RoomPatch(Body):
    """The settings to change; at least one of the first four."""

    topic: Annotated[str, msgspec.Meta(max_length=10_000)] | None = None
    locked: bool | None = None
    archived: bool | None = None
    slow_mode_seconds: Annotated[int, msgspec.Meta(ge=0, le=MAX_SLOW_MODE_SECONDS)] | None = None
    reason: Reason | None = None


class RoomSettings(Struct):
    slug: str
    name: str
    kind: str
    topic: str | None
    last_seq: int
    locked: bool = False
    archived: bool = False
    slow_mode_seconds: int = 0


class RoomOut(Struct):
    room: RoomSettings


class HideIn(msgspec.Struct, kw_only=True):
    """Why the message is hidden (more fields are ignored)."""

    reason: Reason


class Hidden(Struct):
    message_id: int
    hidden: bool
    seq: int


class ReportIn(Body):
    reason: Reason


class Report(Struct):
    id: int
    room: str
    message_id: int
    reporter: str
    reason: str
    at: str
    status: ReportStatus


class ReportOut(Struct):
    report: Report


class ReportPatch(Body):
    status: Literal["resolved", "dismissed"]
    reason: Reason | None = None


class ReportsQuery(Query):
    room: str | None = None
    status: ReportStatus | None = None
    limit: Page = 100


class Reports(Struct):
    reports: list[Report]


class BanIn(Body):
    username: UserField
    reason: Reason
    until: Moment | None = None


class MuteIn(Body):
    username: UserField
    minutes: Annotated[int, msgspec.Meta(ge=1, le=MAX_MUTE_MINUTES)]
    reason: Reason


class Restriction(Struct):
    room: str
    username: str
    until: str | None
    reason: str
    by: str | None = None
    at: str | None = None


class BanOut(Struct):
    ban: Restriction


class MuteOut(Struct):
    mute: Restriction


class Bans(Struct):
    bans: list[Restriction]


class Mutes(Struct):
    mutes: list[Restriction]


class UserIn(Body):
    """Whom to add to the room's moderators or team, and why (optional)."""

    username: UserField
    reason: Reason | None = None


class RoomUser(Struct):
    room: str
    username: str


class ModeratorOut(Struct):
    moderator: RoomUser


class MemberOut(Struct):
    member: RoomUser


class Moderators(Struct):
    moderators: list[str]


class Members(Struct):
    members: list[Author]


class PinRef(Struct):
    message_id: int
    seq: int


class Pin(PinRef):
    room: str


class Pins(Struct):
    pins: list[PinRef]


class PinOut(Struct):
    pin: Pin


class AuditQuery(Query):
    room: str | None = None
    before: Id | None = None
    limit: Page = 100


class AuditEntry(Struct):
    at: str
    actor: str | None
    action: str
    room: str | None
    target: str | None
    reason: str | None


class Audit(Struct):
    entries: list[AuditEntry]

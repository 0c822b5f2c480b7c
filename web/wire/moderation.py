"""Moderation: room settings, hide, report, bans, mutes, moderators, members, pins, audit."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from persistence.moderation import MAX_AUDIT_PAGE
from rooms.moderation import MAX_MUTE_MINUTES, MAX_SLOW_MODE_SECONDS
from web.wire import Author, Body, Id, Moment, Query, Reason, Struct, UserField, envelope

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


RoomOut = envelope("RoomOut", room=RoomSettings)


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


ReportOut = envelope("ReportOut", report=Report)


class ReportPatch(Body):
    status: Literal["resolved", "dismissed"]
    reason: Reason | None = None


class ReportsQuery(Query):
    room: str | None = None
    status: ReportStatus | None = None
    limit: Page = 100


Reports = envelope("Reports", reports=list[Report])


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


BanOut = envelope("BanOut", ban=Restriction)
MuteOut = envelope("MuteOut", mute=Restriction)
Bans = envelope("Bans", bans=list[Restriction])
Mutes = envelope("Mutes", mutes=list[Restriction])


class UserIn(Body):
    """Whom to add to the room's moderators or team, and why (optional)."""

    username: UserField
    reason: Reason | None = None


class RoomUser(Struct):
    room: str
    username: str


ModeratorOut = envelope("ModeratorOut", moderator=RoomUser)
MemberOut = envelope("MemberOut", member=RoomUser)
Moderators = envelope("Moderators", moderators=list[str])
Members = envelope("Members", members=list[Author])


class PinRef(Struct):
    message_id: int
    seq: int


class Pin(PinRef):
    room: str


Pins = envelope("Pins", pins=list[PinRef])
PinOut = envelope("PinOut", pin=Pin)


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


Audit = envelope("Audit", entries=list[AuditEntry])

"""Moderation: room settings, hide, report, bans, mutes, moderators, members, pins, audit."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

import msgspec
from msgspec import UNSET, UnsetType

from persistence import models
from persistence import moderation as repo
from persistence.events import iso
from persistence.models import Ban, Mute
from persistence.moderation import MAX_AUDIT_PAGE
from rooms.moderation import MAX_MUTE_MINUTES, MAX_SLOW_MODE_SECONDS, audit_values
from web.wire import (
    Author,
    Body,
    Day,
    Id,
    Moment,
    Query,
    Reason,
    Slug,
    Struct,
    UserField,
    Username,
    author,
    envelope,
)
from web.wire.rooms import RoomSettings

ReportStatus = Literal["open", "resolved", "dismissed"]
Page = Annotated[int, msgspec.Meta(ge=1, le=MAX_AUDIT_PAGE)]


class RoomPatch(Body):
    """The settings to change; at least one of the first four."""

    topic: Annotated[str, msgspec.Meta(max_length=10_000)] | None = None
    locked: bool | None = None
    archived: bool | None = None
    slow_mode_seconds: Annotated[int, msgspec.Meta(ge=0, le=MAX_SLOW_MODE_SECONDS)] | None = None
    reason: Reason | None = None


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
    at: str | None
    status: ReportStatus
    handled_by: str | None
    handled_at: str | None
    # What the moderator judges; hidden text is never served, also not to moderators.
    body: str | None
    hidden: bool
    # Where the message is (its link in the room), and who reported and wrote it by name.
    seq: int | None = None
    reporter_name: str | None = None
    author: str | None = None
    author_name: str | None = None


def report(row: repo.ReportRow) -> Report:
    found, message = row.report, row.message
    return Report(
        id=found.id,
        room=row.room,
        message_id=found.message_id,
        reporter=row.reporter,
        reason=found.reason,
        at=iso(found.at),
        status=cast(ReportStatus, found.status),
        handled_by=row.handled_by,
        handled_at=iso(found.handled_at),
        body=None if message.hidden else message.body,
        hidden=message.hidden,
        seq=message.seq,
        reporter_name=row.reporter_name,
        author=row.author,
        author_name=row.author_name,
    )


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
    by: str | None
    at: str | None


def restriction(row: Ban | Mute, room: str, username: str, by: str | None) -> Restriction:
    return Restriction(
        room=room,
        username=username,
        until=iso(row.until),
        reason=row.reason,
        by=by,
        at=iso(row.created_at),
    )


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


class Pin(Struct):
    room: str
    message_id: int
    seq: int


class Pinned(Struct):
    message_id: int
    seq: int
    author: Author
    body: str | None
    created_at: str | None
    pinned_by: str | None
    pinned_at: str | None


def pinned(row: repo.PinnedRow) -> Pinned:
    message = row.message
    return Pinned(
        message_id=message.id,
        seq=message.seq,
        author=author(row.author),
        body=message.body,
        created_at=iso(message.created_at),
        pinned_by=row.pinned_by,
        pinned_at=iso(row.pin.pinned_at),
    )


Pins = envelope("Pins", pins=list[Pinned])
PinOut = envelope("PinOut", pin=Pin)


AuditKind = Literal["sanctions", "messages", "room", "people", "reports", "glossary"]


class AuditQuery(Query):
    """`kind`: a group of actions; `person`: who acted or whom it was done to (a username);
    `after`/`until`: Dutch days, both included."""

    room: str | None = None
    before: Id | None = None
    limit: Page = 100
    kind: AuditKind | None = None
    person: Username | None = None
    after: Day | None = None
    until: Day | None = None


class AuditEntry(Struct):
    id: int
    at: str | None
    actor: str | None
    action: str
    room: str | None
    target: str | None
    reason: str | None
    # Administrators only: where the action came from, and its details.
    source: str | UnsetType = UNSET
    details: dict[str, Any] | UnsetType = UNSET
    # For everyone who sees the entry: what it set (`rooms.moderation.AUDIT_VALUES`), and
    # the display names of actor and target when they are accounts.
    values: dict[str, Any] = msgspec.field(default_factory=dict)
    actor_name: str | None = None
    target_name: str | None = None


def audit_entry(
    entry: models.AuditEntry, *, with_source: bool = False, names: dict[str, str] | None = None
) -> AuditEntry:
    names = names or {}
    return AuditEntry(
        id=entry.id,
        at=iso(entry.at),
        actor=entry.actor,
        action=entry.action,
        room=entry.room,
        target=entry.target,
        reason=entry.reason,
        source=entry.source if with_source else UNSET,
        details=entry.details if with_source else UNSET,
        values=audit_values(entry.details or {}),
        actor_name=names.get(entry.actor),
        target_name=names.get(entry.target) if entry.target is not None else None,
    )


Audit = envelope("Audit", entries=list[AuditEntry])


class SanctionsQuery(Query):
    """`room`: one room (else every room the caller moderates); `kind`: bans or mutes only."""

    room: Slug | None = None
    kind: Literal["ban", "mute"] | None = None


class Sanction(Struct):
    """A ban or mute in force, with the person by name."""

    room: str
    person: Author
    until: str | None
    reason: str
    by: str | None
    by_name: str | None
    at: str | None


def sanction(found: repo.SanctionRow) -> Sanction:
    return Sanction(
        room=found.room,
        person=author(found.user),
        until=iso(found.row.until),
        reason=found.row.reason,
        by=found.by,
        by_name=found.by_name,
        at=iso(found.row.created_at),
    )


Sanctions = envelope("Sanctions", bans=list[Sanction], mutes=list[Sanction])

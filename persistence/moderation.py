"""Moderation storage: audit log, bans, mutes, reports, pins, moderators, members, meetings.

Repositories take the caller's session and never commit: an action and its audit entry are
written in one transaction, so there is never an action without its record, nor the reverse.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import access_changes
from persistence.access_changes import AccessChange
from persistence.models import (
    AuditEntry,
    Ban,
    Meeting,
    Membership,
    Message,
    Mute,
    Pin,
    Report,
    Room,
    RoomModerator,
    Theme,
    User,
    utcnow,
)
from rooms import text

MAX_AUDIT_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Source:
    """Who acted and from where, as the audit log records it."""

    actor: str
    address: str


async def record(
    session: AsyncSession,
    source: Source,
    action: str,
    *,
    room: str | None = None,
    target: str | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one audit entry in the caller's transaction (the table refuses changes later)."""
    entry = AuditEntry(
        at=at or utcnow(),
        actor=source.actor[:64],
        action=action,
        room=room,
        target=target[:64] if target is not None else None,
        reason=text.clean(reason),
        source=source.address[:64],
        details=details or {},
    )
    session.add(entry)
    await session.flush()
    return entry


async def audit_page(
    session: AsyncSession,
    *,
    rooms: Collection[str] | None,
    room: str | None,
    limit: int,
    before_id: int | None = None,
    actions: Collection[str] | None = None,
    person: str | None = None,
    after_at: datetime | None = None,
    before_at: datetime | None = None,
) -> list[AuditEntry]:
    """Newest first; `rooms` limits to those room slugs (None: every entry); `person` is
    who acted or whom it was done to; `after_at` inclusive, `before_at` exclusive."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(limit, MAX_AUDIT_PAGE))
    if actions is not None:
        query = query.where(AuditEntry.action.in_(sorted(actions)))
    if person is not None:
        query = query.where((AuditEntry.actor == person) | (AuditEntry.target == person))
    if after_at is not None:
        query = query.where(AuditEntry.at >= after_at)
    if before_at is not None:
        query = query.where(AuditEntry.at < before_at)
    if rooms is not None:
        query = query.where(AuditEntry.room.in_(list(rooms)))
    if room is not None:
        query = query.where(AuditEntry.room == room)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list((await session.execute(query)).scalars())


async def display_names(session: AsyncSession, usernames: Collection[str]) -> dict[str, str]:
    """Username → display name, for the usernames that are accounts."""
    if not usernames:
        return {}
    rows = await session.execute(
        select(User.username, User.display_name).where(User.username.in_(sorted(usernames)))
    )
    return {name: shown for name, shown in rows.all()}


async def room_slugs(session: AsyncSession, room_ids: Collection[int]) -> list[str]:
    rows = await session.execute(select(Room.slug).where(Room.id.in_(list(room_ids))))
    return list(rows.scalars())


# Bans and mutes: lifting one ends it now rather than deleting it, so the row stays as history.


async def put_restriction(
    session: AsyncSession,
    model: type[Ban] | type[Mute],
    room_id: int,
    user_id: int,
    until: datetime | None,
    reason: str,
    by: int,
) -> Ban | Mute:
    """Ban or mute the user in the room (again, if there was one); a ban changes access."""
    row = cast(Ban | Mute | None, await session.get(model, (room_id, user_id)))
    if row is None:
        row = model(room_id=room_id, user_id=user_id)
        session.add(row)
    row.until, row.reason, row.by_id, row.created_at = until, reason, by, utcnow()
    await session.flush()
    if isinstance(row, Ban):
        await access_changes.record(session, [AccessChange(user_id, reason=access_changes.BANNED)])
    return row


async def lift(
    session: AsyncSession, model: type[Ban] | type[Mute], room_id: int, user_id: int, now: datetime
) -> bool:
    """End an active ban or mute now; False when there was none in force."""
    row = cast(Ban | Mute | None, await session.get(model, (room_id, user_id)))
    if row is None or (row.until is not None and row.until <= now):
        return False
    row.until = now
    await session.flush()
    return True


async def active_restrictions(
    session: AsyncSession, model: type[Ban] | type[Mute], room_id: int, now: datetime
) -> list[tuple[Ban | Mute, str, str | None]]:
    """Bans or mutes in force in a room, with the restricted and the restricting username."""
    until = model.until
    by = User.__table__.alias("by")
    rows = await session.execute(
        select(model, User.username, by.c.username)
        .join(User, User.id == model.user_id)
        .outerjoin(by, by.c.id == model.by_id)
        .where(model.room_id == room_id, until.is_(None) | (until > now))
        .order_by(User.username)
    )
    return [(cast(Ban | Mute, r), name, by_name) for r, name, by_name in rows.all()]


class SanctionRow(NamedTuple):
    """A ban or mute in force, with its room's slug, whom it restricts and who imposed it."""

    row: Ban | Mute
    room: str
    user: User
    by: str | None
    by_name: str | None


async def sanctions_in(
    session: AsyncSession,
    model: type[Ban] | type[Mute],
    room_ids: Collection[int] | None,
    now: datetime,
) -> list[SanctionRow]:
    """Bans or mutes in force in those rooms (None: every room), by room, then name."""
    until = model.until
    by = User.__table__.alias("by")
    query = (
        select(model, Room.slug, User, by.c.username, by.c.display_name)
        .join(Room, Room.id == model.room_id)
        .join(User, User.id == model.user_id)
        .outerjoin(by, by.c.id == model.by_id)
        .where(until.is_(None) | (until > now))
        .order_by(Room.slug, User.display_name, User.username)
    )
    if room_ids is not None:
        query = query.where(model.room_id.in_(sorted(room_ids)))
    rows = (await session.execute(query)).all()
    return [SanctionRow(cast(Ban | Mute, r), slug, u, b, bn) for r, slug, u, b, bn in rows]


# Reports.


async def open_report_of(session: AsyncSession, message_id: int, reporter_id: int) -> Report | None:
    return (
        await session.execute(
            select(Report).where(
                Report.message_id == message_id,
                Report.reporter_id == reporter_id,
                Report.status == "open",
            )
        )
    ).scalar_one_or_none()


async def add_report(
    session: AsyncSession, room_id: int, message_id: int, reporter_id: int, reason: str
) -> Report:
    report = Report(
        room_id=room_id, message_id=message_id, reporter_id=reporter_id, reason=reason, at=utcnow()
    )
    session.add(report)
    await session.flush()
    return report


async def reports_page(
    session: AsyncSession,
    *,
    room_ids: Collection[int] | None,
    room_id: int | None,
    status: str | None,
    limit: int,
) -> list[ReportRow]:
    """Reports as the API lists them, newest first, with the message reported."""
    reporter = User.__table__.alias("reporter")
    handler = User.__table__.alias("handler")
    writer = User.__table__.alias("writer")
    query = (
        select(
            Report,
            Room.slug,
            reporter.c.username,
            handler.c.username,
            Message,
            reporter.c.display_name,
            writer.c.display_name,
            writer.c.username,
        )
        .join(Room, Room.id == Report.room_id)
        .join(reporter, reporter.c.id == Report.reporter_id)
        .outerjoin(handler, handler.c.id == Report.handled_by_id)
        .join(Message, Message.id == Report.message_id)
        .join(writer, writer.c.id == Message.author_id)
        .order_by(Report.at.desc(), Report.id.desc())
        .limit(limit)
    )
    if room_ids is not None:
        query = query.where(Report.room_id.in_(list(room_ids)))
    if room_id is not None:
        query = query.where(Report.room_id == room_id)
    if status is not None:
        query = query.where(Report.status == status)
    return [ReportRow(*row) for row in (await session.execute(query)).all()]


class ReportRow(NamedTuple):
    """A report with its room's slug, the usernames of its reporter and handler, the
    message it is about, and (when listed) the display names of reporter and author."""

    report: Report
    room: str
    reporter: str
    handled_by: str | None
    message: Message
    reporter_name: str | None = None
    author_name: str | None = None
    author: str | None = None


# Pins.


class PinnedRow(NamedTuple):
    pin: Pin
    message: Message
    author: User
    pinned_by: str | None


async def pins_of(session: AsyncSession, room_id: int) -> list[PinnedRow]:
    """A room's pinned messages, oldest pin first; hidden messages drop out of the list."""
    pinner = User.__table__.alias("pinner")
    rows = await session.execute(
        select(Pin, Message, User, pinner.c.username)
        .join(Message, Message.id == Pin.message_id)
        .join(User, User.id == Message.author_id)
        .outerjoin(pinner, pinner.c.id == Pin.pinned_by_id)
        .where(Pin.room_id == room_id, Message.hidden.is_(False))
        .order_by(Pin.pinned_at, Pin.message_id)
    )
    return [PinnedRow(*row) for row in rows.all()]


# Room moderators and team members.


async def is_moderator(session: AsyncSession, room_id: int, user_id: int) -> bool:
    return await session.get(RoomModerator, (room_id, user_id)) is not None


async def add_moderator(session: AsyncSession, room_id: int, user_id: int) -> None:
    session.add(RoomModerator(room_id=room_id, user_id=user_id))
    await session.flush()


async def _end_grant(
    session: AsyncSession, row: RoomModerator | Membership | None, user_id: int, reason: str
) -> bool:
    """Delete an access grant, recording why so that open sockets check access again."""
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    await access_changes.record(session, [AccessChange(user_id, reason=reason)])
    return True


async def remove_moderator(session: AsyncSession, room_id: int, user_id: int) -> bool:
    row = await session.get(RoomModerator, (room_id, user_id))
    return await _end_grant(session, row, user_id, access_changes.MODERATOR_ROLE_ENDED)


async def moderators_of(session: AsyncSession, room_id: int) -> list[str]:
    rows = await session.execute(
        select(User.username)
        .join(RoomModerator, RoomModerator.user_id == User.id)
        .where(RoomModerator.room_id == room_id)
        .order_by(User.username)
    )
    return list(rows.scalars())


async def add_member(session: AsyncSession, room_id: int, user_id: int) -> bool:
    """Make the user a team member of the room; False when they already were."""
    if await session.get(Membership, (room_id, user_id)) is not None:
        return False
    session.add(Membership(room_id=room_id, user_id=user_id, joined_at=utcnow()))
    await session.flush()
    return True


async def remove_member(session: AsyncSession, room_id: int, user_id: int) -> bool:
    # A membership is an access grant, not a record: the audit entry is its history.
    row = await session.get(Membership, (room_id, user_id))
    return await _end_grant(session, row, user_id, access_changes.MEMBERSHIP_ENDED)


async def members_of(session: AsyncSession, room_id: int) -> list[User]:
    rows = await session.execute(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.room_id == room_id)
        .order_by(User.username)
    )
    return list(rows.scalars())


# Meetings.


async def theme_by_slug(session: AsyncSession, slug: str) -> Theme | None:
    return (await session.execute(select(Theme).where(Theme.slug == slug))).scalar_one_or_none()


async def create_meeting(
    session: AsyncSession,
    *,
    slug: str,
    title: str,
    theme: Theme,
    starts_at: datetime,
    place: str,
    programme: str,
) -> tuple[Meeting, Room]:
    """A meeting and its room of kind `meeting`; the caller checked the slug is free."""
    meeting = Meeting(
        slug=slug,
        title=title,
        theme_id=theme.id,
        starts_at=starts_at,
        place=place,
        programme=programme,
    )
    session.add(meeting)
    await session.flush()
    room = Room(slug=slug, name=title, kind="meeting", topic="", last_seq=0, meeting_id=meeting.id)
    session.add(room)
    await session.flush()
    return meeting, room


# Slow mode.


async def last_post_at(session: AsyncSession, room_id: int, user_id: int) -> datetime | None:
    """When the user last posted in the room (for `rooms.moderation.check_slow_mode`)."""
    return (
        await session.execute(
            select(Message.created_at)
            .where(Message.room_id == room_id, Message.author_id == user_id)
            .order_by(Message.created_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()

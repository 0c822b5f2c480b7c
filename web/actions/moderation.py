"""Moderation acts: hide, bans and mutes, room settings, moderators, team members, reports,
pins. Each writes its audit entry in the same transaction as the act itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chat import frames
from persistence import access_changes, events
from persistence import moderation as repo
from persistence.accounts import actor_for, user_by_name
from persistence.db import Database
from persistence.models import AuditEntry, Ban, Message, Mute, Pin, Report, Room, User, utcnow
from persistence.rooms import ban_of, room_ref
from rooms import moderation as rules
from rooms.errors import Conflict, Forbidden, NotFound
from rooms.model import Actor
from web.actions.common import (
    Acting,
    find_message,
    find_room,
    find_user,
    moderated_room,
    still_reads,
    user_row,
)
from web.actions.publish import NOTHING, Published, Revoked, event

# What `removed` says to the connections of a user who lost access.
REMOVED_BANNED = "banned"
REMOVED_NOT_A_MEMBER = "membership_ended"
REMOVED_NOT_A_MODERATOR = "moderator_role_ended"


@dataclass(frozen=True, slots=True)
class Sanction:
    """A ban or a mute: its table, its audit action, and what lifting one that is not in
    force says; a ban also ends the user's reading of the room."""

    model: type[Ban] | type[Mute]
    action: str
    state: str
    removed: str | None


BAN = Sanction(Ban, "ban", "banned", REMOVED_BANNED)
MUTE = Sanction(Mute, "mute", "muted", None)


# Hide.


async def hide(
    db: Database, acting: Acting, slug: str, message_id: int, reason: str
) -> tuple[int, Published]:
    """Hide a message's text from everyone; its `message_hidden` event's seq."""
    async with db.write() as session:
        room = await moderated_room(session, acting, slug)
        message = await find_message(session, room, message_id)
        if message.hidden:
            raise Conflict(f"message {message.id} is already hidden")
        assert acting.actor is not None  # the console has no hide command
        hidden = await events.hide_message(
            session, message, await user_row(session, acting.actor), reason
        )
        await repo.record(
            session,
            acting.source,
            "hide",
            room=room.slug,
            target=str(message.id),
            reason=reason,
            details={"seq": hidden.seq, "author_id": message.author_id},
        )
        stored = events.stored_event(hidden, message)
    return hidden.seq, event(room.slug, stored)


# Bans and mutes.


async def ban(
    db: Database, acting: Acting, slug: str, username: str, reason: str, until: datetime | None
) -> tuple[Ban | Mute, Published]:
    """Ban the user from the room until `until` (None: for good)."""
    rules.check_ban_until(until, utcnow())
    return await _sanction(db, acting, BAN, slug, username, reason, until, {})


async def mute(
    db: Database, acting: Acting, slug: str, username: str, reason: str, minutes: int
) -> tuple[Ban | Mute, Published]:
    """Mute the user in the room for `minutes`."""
    until = rules.mute_until(utcnow(), minutes)
    return await _sanction(db, acting, MUTE, slug, username, reason, until, {"minutes": minutes})


async def _sanction(
    db: Database,
    acting: Acting,
    kind: Sanction,
    slug: str,
    username: str,
    reason: str,
    until: datetime | None,
    details: dict[str, Any],
) -> tuple[Ban | Mute, Published]:
    assert acting.actor is not None  # the console has no ban command
    async with db.write() as session:
        room = await moderated_room(session, acting, slug)
        target = await find_user(session, username)
        target_actor = await actor_for(session, target)
        rules.check_sanction_target(acting.actor, target_actor, room_ref(room), kind.action)
        row = await repo.put_restriction(
            session, kind.model, room.id, target.id, until, reason, acting.actor.user_id
        )
        await repo.record(
            session,
            acting.source,
            kind.action,
            room=room.slug,
            target=target.username,
            reason=reason,
            details={**details, "until": events.iso(until)},
        )
    lost = (Revoked(room.slug, target.id, kind.removed),) if kind.removed else ()
    told: tuple[tuple[int, frames.ServerFrame], ...] = ()
    if kind is MUTE:
        told = ((target.id, frames.Muted(room=room.slug, until=events.iso(until), reason=reason)),)
    return row, Published(revoked=lost, to_users=told)


def _lifted(kind: Sanction, room: Room, user_id: int) -> tuple[tuple[int, frames.ServerFrame], ...]:
    """What the user's own connections hear of a lift: `muted` with no end, or `room_added`
    (they may read the room again)."""
    if kind is MUTE:
        return ((user_id, frames.Muted(room=room.slug, until=None)),)
    return ((user_id, frames.RoomAdded(room=room.slug, kind=room.kind)),)


async def lift(db: Database, acting: Acting, kind: Sanction, slug: str, username: str) -> Published:
    """End the user's ban or mute in the room now; the user's connections hear of it."""
    async with db.write() as session:
        room = await moderated_room(session, acting, slug)
        target = await find_user(session, username)
        if not await repo.lift(session, kind.model, room.id, target.id, utcnow()):
            raise NotFound(f"{target.username} is not {kind.state} in room {room.slug}")
        await repo.record(
            session, acting.source, f"un{kind.action}", room=room.slug, target=target.username
        )
    return Published(to_users=_lifted(kind, room, target.id))


async def restrictions(
    db: Database, acting: Acting, kind: Sanction, slug: str
) -> list[tuple[Ban | Mute, str, str | None]]:
    """The bans or mutes in force in the room, with whom they restrict and who imposed them."""
    async with db.read() as session:
        room = await moderated_room(session, acting, slug, lock=False)
        return await repo.active_restrictions(session, kind.model, room.id, utcnow())


async def sanctions_in_force(
    db: Database, actor: Actor, slug: str | None, kinds: tuple[Sanction, ...]
) -> dict[str, list[repo.SanctionRow]]:
    """The bans and mutes in force in `slug`, or in every room the actor moderates (all for
    staff); keyed by the sanction's action."""
    scope = rules.report_scope(actor)
    async with db.read() as session:
        if slug is not None:
            room = await find_room(session, slug, lock=False)
            if scope is not None and room.id not in scope:
                raise Forbidden(f"you may not moderate room {room.slug}")
            scope = frozenset({room.id})
        now = utcnow()
        return {k.action: await repo.sanctions_in(session, k.model, scope, now) for k in kinds}


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the audit log is narrowed to; None: no narrowing by that."""

    room: str | None = None
    kind: str | None = None
    person: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    before_id: int | None = None
    limit: int = 100


async def audit_log(
    db: Database, actor: Actor, wanted: AuditFilter
) -> tuple[list[AuditEntry], dict[str, str]]:
    """The audit entries of the rooms the actor moderates (all for staff) that match, newest
    first, with the display names of the people they name."""
    scope = rules.report_scope(actor)
    async with db.read() as session:
        room: str | None = None
        if wanted.room is not None:
            found = await find_room(session, wanted.room, lock=False)
            if scope is not None and found.id not in scope:
                raise Forbidden(f"you may not moderate room {found.slug}")
            room = found.slug
        slugs = await repo.room_slugs(session, scope) if scope is not None else None
        entries = await repo.audit_page(
            session,
            rooms=slugs,
            room=room,
            limit=wanted.limit,
            before_id=wanted.before_id,
            actions=rules.AUDIT_KINDS[wanted.kind] if wanted.kind is not None else None,
            person=wanted.person,
            after_at=wanted.after,
            before_at=wanted.before,
        )
        named = {e.actor for e in entries} | {e.target for e in entries if e.target}
        return entries, await repo.display_names(session, named)


# Room settings.


async def update_room(
    db: Database, acting: Acting, slug: str, wanted: dict[str, Any], reason: str
) -> tuple[Room, Published]:
    """Change the room's settings in `wanted`; one audit entry per setting that changes."""
    assert acting.actor is not None  # the console has no room settings command
    async with db.write() as session:
        room = await moderated_room(session, acting, slug)
        changes = {k: v for k, v in wanted.items() if getattr(room, k) != v}
        for name, value in changes.items():
            setattr(room, name, value)
            action = rules.ROOM_SETTING_ACTIONS.get((name, value), f"set_{name}")
            await repo.record(
                session, acting.source, action, room=room.slug, reason=reason, details={name: value}
            )
        updates: tuple[tuple[str, events.StoredEvent], ...] = ()
        if changes:
            updated = await events.append_event(
                session,
                room.id,
                "room_updated",
                actor_id=acting.actor.user_id,
                data={**changes, "by": acting.actor.username},
            )
            updates = ((room.slug, events.stored_event(updated)),)
        archived: tuple[access_changes.AccessChange, ...] = ()
        if changes.get("archived"):
            archived = (
                access_changes.AccessChange(room=room.slug, reason=access_changes.ARCHIVED),
            )
            await access_changes.record(session, archived)
        await session.refresh(room)
    return room, Published(events=updates, access=archived)


# Room moderators (admins only).


async def add_moderator(
    db: Database, acting: Acting, slug: str, username: str, reason: str
) -> None:
    """Make the user a moderator of the room."""
    acting.check_admin()
    async with db.write() as session:
        room = await find_room(session, slug)
        target = await find_user(session, username)
        if await repo.is_moderator(session, room.id, target.id):
            raise Conflict(f"{target.username} already moderates room {room.slug}")
        await repo.add_moderator(session, room.id, target.id)
        await repo.record(
            session,
            acting.source,
            "add_moderator",
            room=room.slug,
            target=target.username,
            reason=reason,
        )


async def remove_moderator(db: Database, acting: Acting, slug: str, username: str) -> Published:
    """End the user's moderator role in the room."""
    acting.check_admin()
    async with db.write() as session:
        room = await find_room(session, slug)
        target = await find_user(session, username)
        if not await repo.remove_moderator(session, room.id, target.id):
            raise NotFound(f"{target.username} does not moderate room {room.slug}")
        await repo.record(
            session, acting.source, "remove_moderator", room=room.slug, target=target.username
        )
        reads = await still_reads(session, room, target, await ban_of(session, room.id, target.id))
    return _lost(reads, room, target, REMOVED_NOT_A_MODERATOR)


def _lost(reads: bool, room: Room, user: User, reason: str) -> Published:
    return NOTHING if reads else Published(revoked=(Revoked(room.slug, user.id, reason),))


# Team members of area rooms.


async def change_member(
    db: Database, acting: Acting, action: str, slug: str, username: str, reason: str = ""
) -> tuple[Room, User, Published]:
    """Add (`add`) or remove (`remove`) a team member of an area room."""
    async with db.write() as session:
        room = await moderated_room(session, acting, slug)
        rules.check_membership_room(room_ref(room))
        user = await user_by_name(session, username, include_disabled=True)
        if user is None:
            raise NotFound(f"no user {username!r}")
        if action == "add" and not await repo.add_member(session, room.id, user.id):
            raise Conflict(f"{user.username} is already a member of room {room.slug}")
        if action == "remove" and not await repo.remove_member(session, room.id, user.id):
            raise NotFound(f"{user.username} is not a member of room {room.slug}")
        await repo.record(
            session,
            acting.source,
            f"{action}_member",
            room=room.slug,
            target=user.username,
            reason=reason,
        )
        reads = action == "add" or await still_reads(session, room, user, None)
    return room, user, _lost(reads, room, user, REMOVED_NOT_A_MEMBER)


# Reports.


async def report(
    db: Database, actor: Actor, room: Room, message_id: int, reason: str
) -> repo.ReportRow:
    """Report a message of a room the member reads to its moderators; the report added."""
    async with db.write() as session:
        message = await find_message(session, room, message_id)
        if await repo.open_report_of(session, message.id, actor.user_id) is not None:
            raise Conflict(f"you already reported message {message.id}; it is in the queue")
        added = await repo.add_report(session, room.id, message.id, actor.user_id, reason)
        return repo.ReportRow(added, room.slug, actor.username, None, message)


async def handle_report(
    db: Database, acting: Acting, report_id: int, status: str, reason: str
) -> repo.ReportRow:
    """Resolve or dismiss a report; the report as it is now."""
    assert acting.actor is not None  # the console has no report command
    async with db.write() as session:
        found = await session.get(Report, report_id, with_for_update=True)
        if found is None:
            raise NotFound(f"no report {report_id}")
        room = await session.get(Room, found.room_id)
        assert room is not None  # a foreign key
        acting.check_moderate(room)
        rules.check_report_transition(found.status, status)
        found.status, found.handled_by_id, found.handled_at = status, acting.actor.user_id, utcnow()
        await repo.record(
            session,
            acting.source,
            f"report_{status}",
            room=room.slug,
            target=str(found.message_id),
            reason=reason,
            details={"report_id": found.id},
        )
        reporter = await session.get(User, found.reporter_id)
        message = await session.get(Message, found.message_id)
        assert reporter is not None and message is not None  # foreign keys
        return repo.ReportRow(found, room.slug, reporter.username, acting.actor.username, message)


# Pins.


PIN_EVENTS = {"pin": "message_pinned", "unpin": "message_unpinned"}


async def pin(db: Database, acting: Acting, slug: str, message_id: int) -> tuple[int, Published]:
    """Pin a message of the room; the seq of its `message_pinned` event."""
    async with db.write() as session:
        room = await moderated_room(session, acting, slug)
        message = await find_message(session, room, message_id)
        rules.check_pinnable(message.hidden)
        if await session.get(Pin, (room.id, message.id)) is not None:
            raise Conflict(f"message {message.id} is already pinned")
        assert acting.actor is not None  # only members pin
        session.add(Pin(room_id=room.id, message_id=message.id, pinned_by_id=acting.actor.user_id))
        return await _pin_changed(session, acting, room, message.id, "pin")


async def unpin(db: Database, acting: Acting, slug: str, message_id: int) -> Published:
    """Unpin a message of the room."""
    async with db.write() as session:
        room = await moderated_room(session, acting, slug)
        found = await session.get(Pin, (room.id, message_id))
        if found is None:
            raise NotFound(f"message {message_id} is not pinned in room {room.slug}")
        # A pin is a pointer, not a record: the audit entry and the event are its history.
        await session.delete(found)
        _, published = await _pin_changed(session, acting, room, message_id, "unpin")
    return published


async def _pin_changed(
    session: AsyncSession, acting: Acting, room: Room, message_id: int, action: str
) -> tuple[int, Published]:
    """The room event and the audit entry of a pin or unpin (`action`)."""
    assert acting.actor is not None  # only members pin
    changed = await events.append_event(
        session,
        room.id,
        PIN_EVENTS[action],
        message_id=message_id,
        actor_id=acting.actor.user_id,
        data={"by": acting.actor.username},
    )
    await repo.record(session, acting.source, action, room=room.slug, target=str(message_id))
    return changed.seq, event(room.slug, events.stored_event(changed))

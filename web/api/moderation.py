"""Moderation endpoints: hide, bans, mutes, room settings, moderators, reports, audit, pins,
team members.

Each action runs in one write transaction together with its audit entry; what other
processes must see (room events, lost access) is handed to the real-time hub only after
that transaction has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence import access_changes, events
from persistence import moderation as repo
from persistence.accounts import actor_for, user_by_name
from persistence.models import Ban, Event, Message, Mute, Pin, Report, Room, User, utcnow
from persistence.rooms import ban_of, room_ref
from rooms import moderation as rules
from rooms.access import check_admin, check_moderate, may_read
from rooms.errors import BadRequest, Conflict, Forbidden, NotFound
from rooms.model import SLUG_RE, USERNAME_RE, Restriction
from web.api.rooms import readable_room
from web.auth import Caller
from web.deps import caller, client_address, services
from web.openapi import api
from web.responses import JSON, body_as, query_as
from web.wire import MAX_ID
from web.wire import moderation as shapes
from web.wire.moderation import (
    AuditQuery,
    BanIn,
    HideIn,
    MuteIn,
    ReportIn,
    ReportPatch,
    ReportsQuery,
    RoomPatch,
    UserIn,
)

log = logging.getLogger("werkplaats.moderation")


# What `removed` says to the connections of a user who lost access.
REMOVED_BANNED = "banned"
REMOVED_NOT_A_MEMBER = "membership_ended"
REMOVED_NOT_A_MODERATOR = "moderator_role_ended"


# Request parsing.


def username_of(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise BadRequest("field 'username' is not a username ([a-z0-9._-]{2,32})")
    return username


def optional_reason(raw: str | None) -> str:
    """A reason that may be left out or blank: then there is none."""
    return rules.check_reason(raw) if raw is not None and raw.strip() else ""


def path_id(request: Request, name: str) -> int:
    value: int = request.path_params[name]
    if value > MAX_ID:
        raise NotFound(f"no {name.replace('_', ' ')} {value}")
    return value


# Look-ups inside the action's transaction.


async def find_room(session: AsyncSession, slug: str, *, lock: bool = True) -> Room:
    """The room by slug; `lock` takes its row lock (PostgreSQL) so that the checks and the
    action that follow cannot interleave with another moderator's on the same room
    (SQLite's BEGIN IMMEDIATE serialises writers already)."""
    query = select(Room).where(Room.slug == slug)
    room = None
    if SLUG_RE.fullmatch(slug):
        room = (
            await session.execute(query.with_for_update() if lock else query)
        ).scalar_one_or_none()
    if room is None:
        raise NotFound(f"no room {slug!r}")
    return room


async def moderated_room(
    session: AsyncSession, request: Request, who: Caller, *, lock: bool = True
) -> Room:
    """The room in the path, which the caller must be allowed to moderate."""
    room = await find_room(session, request.path_params["slug"], lock=lock)
    check_moderate(who.actor, room_ref(room))
    return room


async def find_user(session: AsyncSession, username: str) -> User:
    user = await user_by_name(session, username) if USERNAME_RE.fullmatch(username) else None
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


async def sanction_target(
    session: AsyncSession, who: Caller, room: Room, username: str, kind: str
) -> User:
    """The user to ban or mute, whom the caller must be allowed to sanction in this room."""
    target = await find_user(session, username)
    rules.check_sanction_target(who.actor, await actor_for(session, target), room_ref(room), kind)
    return target


async def still_reads(
    session: AsyncSession, room: Room, target: User, ban: Restriction | None
) -> bool:
    """Whether the user may still read the room after losing a role in it."""
    return may_read(await actor_for(session, target), room_ref(room), ban, utcnow())


async def find_message(session: AsyncSession, room: Room, request: Request) -> Message:
    message_id = path_id(request, "message_id")
    message = await events.get_message(session, room.id, message_id)
    if message is None:
        raise NotFound(f"no message {message_id} in room {room.slug}")
    return message


def source(request: Request, who: Caller) -> repo.Source:
    return repo.Source(who.user.username, client_address(request))


def room_wire(room: Room) -> dict[str, Any]:
    return {
        "slug": room.slug,
        "name": room.name,
        "kind": room.kind,
        "topic": room.topic,
        "locked": room.locked,
        "archived": room.archived,
        "slow_mode_seconds": room.slow_mode_seconds,
        "last_seq": room.last_seq,
    }


# After commit: tell every process. The action stands even if the hub fails; log it loudly.


async def publish(request: Request, slug: str, frame: dict[str, Any]) -> None:
    try:
        await services(request).realtime.publish_event(slug, frame)
    except Exception:
        log.exception("publishing %s seq %s of %s failed", frame["type"], frame["seq"], slug)


async def revoke(request: Request, slug: str, user_id: int, reason: str) -> None:
    try:
        await services(request).realtime.access_revoked(slug, user_id, reason)
    except Exception:
        log.exception("access_revoked for user %d in %s failed", user_id, slug)


async def access_changed(request: Request, changes: list[access_changes.AccessChange]) -> None:
    try:
        await services(request).realtime.access_changed(changes)
    except Exception:
        log.exception("access_changed failed (the database poll re-checks within a second)")


# Hide.


async def hide_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, HideIn)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        reason = rules.check_reason(given.reason)
        message = await find_message(session, room, request)
        if message.hidden:
            raise Conflict(f"message {message.id} is already hidden")
        event = await events.hide_message(session, message, who.user, reason)
        await repo.record(
            session,
            source(request, who),
            "hide",
            room=room.slug,
            target=str(message.id),
            reason=reason,
            details={"seq": event.seq, "author_id": message.author_id},
        )
        frame = events.event_wire(room.slug, event, message, None)
    await publish(request, room.slug, frame)
    return JSON({"message_id": message.id, "hidden": True, "seq": event.seq})


# Bans and mutes.


async def sanctioned(
    session: AsyncSession,
    request: Request,
    who: Caller,
    room: Room,
    target: User,
    row: Ban | Mute,
    reason: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    """Audit a ban or mute just put in place; its wire form."""
    action = "ban" if isinstance(row, Ban) else "mute"
    await repo.record(
        session,
        source(request, who),
        action,
        room=room.slug,
        target=target.username,
        reason=reason,
        details=details,
    )
    return repo.restriction_wire(row, room.slug, target.username, who.user.username)


async def ban_user(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, BanIn)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        username, reason = username_of(given.username), rules.check_reason(given.reason)
        now = utcnow()
        until = rules.parse_instant(given.until, "until") if given.until is not None else None
        rules.check_ban_until(until, now)
        target = await sanction_target(session, who, room, username, "ban")
        ban = await repo.put_ban(session, room.id, target.id, until, reason, who.user.id)
        details = {"until": events.iso(until)}
        wire = await sanctioned(session, request, who, room, target, ban, reason, details)
    await revoke(request, room.slug, target.id, REMOVED_BANNED)
    return JSON({"ban": wire}, status_code=201)


async def mute_user(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, MuteIn)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        username, minutes = username_of(given.username), given.minutes
        reason = rules.check_reason(given.reason)
        now = utcnow()
        target = await sanction_target(session, who, room, username, "mute")
        until = rules.mute_until(now, minutes)
        mute = await repo.put_mute(session, room.id, target.id, until, reason, who.user.id)
        details = {"minutes": minutes, "until": events.iso(until)}
        wire = await sanctioned(session, request, who, room, target, mute, reason, details)
    return JSON({"mute": wire}, status_code=201)


async def _lift(request: Request, model: type[Ban] | type[Mute], action: str) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        target = await find_user(session, request.path_params["username"])
        row = cast(Ban | Mute | None, await session.get(model, (room.id, target.id)))
        if not await repo.lift(session, row, utcnow()):
            noun = "banned" if model is Ban else "muted"
            raise NotFound(f"{target.username} is not {noun} in room {room.slug}")
        await repo.record(
            session, source(request, who), action, room=room.slug, target=target.username
        )
    return Response(status_code=204)


async def unban_user(request: Request) -> Response:
    return await _lift(request, Ban, "unban")


async def unmute_user(request: Request) -> Response:
    return await _lift(request, Mute, "unmute")


async def _restrictions(request: Request, model: type[Ban] | type[Mute], key: str) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.read() as session:
        room = await moderated_room(session, request, who, lock=False)
        rows = await repo.active_restrictions(session, model, room.id, utcnow())
        by = {u.id: u.username for u in await _users(session, {r.by_id for r, _ in rows})}
        wire = [repo.restriction_wire(r, room.slug, name, by.get(r.by_id or 0)) for r, name in rows]
    return JSON({key: wire})


async def _users(session: AsyncSession, ids: set[int | None]) -> list[User]:
    found = [await session.get(User, i) for i in ids if i is not None]
    return [u for u in found if u is not None]


async def list_bans(request: Request) -> Response:
    return await _restrictions(request, Ban, "bans")


async def list_mutes(request: Request) -> Response:
    return await _restrictions(request, Mute, "mutes")


# Room settings.


def room_changes(patch: RoomPatch, room: Room) -> dict[str, Any]:
    """The settings the body changes (validated), in a fixed order; unchanged ones left out."""
    wanted: dict[str, Any] = {}
    if patch.topic is not None:
        wanted["topic"] = rules.check_topic(patch.topic)
    for name in ("locked", "archived", "slow_mode_seconds"):
        if (value := getattr(patch, name)) is not None:
            wanted[name] = value
    if not wanted:
        raise BadRequest("give at least one of 'topic', 'locked', 'archived', 'slow_mode_seconds'")
    return {k: v for k, v in wanted.items() if getattr(room, k) != v}


async def update_room(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    patch = await body_as(request, RoomPatch)
    frame = None
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        changes = room_changes(patch, room)
        reason = optional_reason(patch.reason)
        for name, value in changes.items():
            setattr(room, name, value)
            action = rules.ROOM_SETTING_ACTIONS.get((name, value), f"set_{name}")
            await repo.record(
                session,
                source(request, who),
                action,
                room=room.slug,
                reason=reason,
                details={name: value},
            )
        if changes:
            event = await events.append_event(
                session,
                room.id,
                "room_updated",
                actor_id=who.user.id,
                data={**changes, "by": who.user.username},
            )
            frame = events.event_wire(room.slug, event, None, None)
        archived = [access_changes.AccessChange(room=room.slug, reason=access_changes.ARCHIVED)]
        if changes.get("archived"):
            await access_changes.record(session, archived)
        await session.refresh(room)
        wire = room_wire(room)
    if frame is not None:
        await publish(request, room.slug, frame)
    if changes.get("archived"):
        await access_changed(request, archived)
    return JSON({"room": wire})


# Room moderators (admins only).


async def add_moderator(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    check_admin(who.actor)
    given = await body_as(request, UserIn)
    async with svc.db.write() as session:
        room = await find_room(session, request.path_params["slug"])
        username, reason = username_of(given.username), optional_reason(given.reason)
        target = await find_user(session, username)
        if await repo.is_moderator(session, room.id, target.id):
            raise Conflict(f"{target.username} already moderates room {room.slug}")
        await repo.add_moderator(session, room.id, target.id)
        await repo.record(
            session,
            source(request, who),
            "add_moderator",
            room=room.slug,
            target=target.username,
            reason=reason,
        )
    return JSON({"moderator": {"room": room.slug, "username": target.username}}, status_code=201)


async def remove_moderator(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    check_admin(who.actor)
    async with svc.db.write() as session:
        room = await find_room(session, request.path_params["slug"])
        target = await find_user(session, request.path_params["username"])
        if not await repo.remove_moderator(session, room.id, target.id):
            raise NotFound(f"{target.username} does not moderate room {room.slug}")
        await repo.record(
            session,
            source(request, who),
            "remove_moderator",
            room=room.slug,
            target=target.username,
        )
        reads = await still_reads(session, room, target, await ban_of(session, room.id, target.id))
    if not reads:
        await revoke(request, room.slug, target.id, REMOVED_NOT_A_MODERATOR)
    return Response(status_code=204)


RoomList = Callable[[AsyncSession, int], Awaitable[list[Any]]]


async def room_list(request: Request, key: str, fetch: RoomList) -> Response:
    """`{key: fetch(room)}` for a room the caller may read."""
    who = await caller(request)
    room = await readable_room(request, who)
    async with services(request).db.read() as session:
        items = await fetch(session, room.id)
    return JSON({key: items})


async def list_moderators(request: Request) -> Response:
    return await room_list(request, "moderators", repo.moderators_of)


# Reports.


async def report_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    room = await readable_room(request, who)
    reason = rules.check_reason((await body_as(request, ReportIn)).reason)
    async with svc.db.write() as session:
        message = await find_message(session, room, request)
        if await repo.open_report_of(session, message.id, who.user.id) is not None:
            raise Conflict(f"you already reported message {message.id}; it is in the queue")
        report = await repo.add_report(session, room.id, message.id, who.user.id, reason)
        wire = repo.report_wire(report, room.slug, who.user.username, None, message)
    return JSON({"report": wire}, status_code=201)


async def scoped_room(
    session: AsyncSession, slug: str | None, scope: frozenset[int] | None
) -> Room | None:
    """The `room` query parameter, if given; within the caller's scope, else forbidden."""
    if slug is None:
        return None
    room = await find_room(session, slug, lock=False)
    if scope is not None and room.id not in scope:
        raise Forbidden(f"you may not moderate room {room.slug}")
    return room


async def list_reports(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    scope = rules.report_scope(who.actor)
    asked = query_as(request, ReportsQuery)
    status, limit = asked.status, asked.limit
    async with svc.db.read() as session:
        room = await scoped_room(session, asked.room, scope)
        reports = await repo.reports_page(
            session,
            room_ids=scope,
            room_id=room.id if room is not None else None,
            status=status,
            limit=limit,
        )
    return JSON({"reports": reports})


async def handle_report(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, ReportPatch)
    report_id = path_id(request, "report_id")
    async with svc.db.write() as session:
        report = await session.get(Report, report_id, with_for_update=True)
        if report is None:
            raise NotFound(f"no report {report_id}")
        room = await session.get(Room, report.room_id)
        assert room is not None  # a foreign key
        check_moderate(who.actor, room_ref(room))
        status = rules.check_report_status(given.status)
        reason = optional_reason(given.reason)
        rules.check_report_transition(report.status, status)
        report.status, report.handled_by_id, report.handled_at = status, who.user.id, utcnow()
        await repo.record(
            session,
            source(request, who),
            f"report_{status}",
            room=room.slug,
            target=str(report.message_id),
            reason=reason,
            details={"report_id": report.id},
        )
        reporter = await session.get(User, report.reporter_id)
        message = await session.get(Message, report.message_id)
        assert reporter is not None and message is not None  # foreign keys
        wire = repo.report_wire(report, room.slug, reporter.username, who.user.username, message)
    return JSON({"report": wire})


# Audit log.


async def list_audit(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    scope = rules.report_scope(who.actor)
    asked = query_as(request, AuditQuery)
    limit, before = asked.limit, asked.before
    async with svc.db.read() as session:
        room = await scoped_room(session, asked.room, scope)
        slugs = await repo.room_slugs(session, scope) if scope is not None else None
        entries = await repo.audit_page(
            session,
            rooms=slugs,
            room=room.slug if room is not None else None,
            limit=limit,
            before_id=before,
        )
    admin = rules.is_admin(who.actor)
    return JSON({"entries": [repo.audit_wire(e, with_source=admin) for e in entries]})


# Pins.


PIN_EVENTS = {"pin": "message_pinned", "unpin": "message_unpinned"}


async def pin_changed(
    session: AsyncSession, request: Request, who: Caller, room: Room, message_id: int, action: str
) -> Event:
    """The room event and the audit entry of a pin or unpin (`action`)."""
    event = await events.append_event(
        session,
        room.id,
        PIN_EVENTS[action],
        message_id=message_id,
        actor_id=who.user.id,
        data={"by": who.user.username},
    )
    await repo.record(session, source(request, who), action, room=room.slug, target=str(message_id))
    return event


async def pin_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        message = await find_message(session, room, request)
        rules.check_pinnable(message.hidden)
        if await session.get(Pin, (room.id, message.id)) is not None:
            raise Conflict(f"message {message.id} is already pinned")
        session.add(Pin(room_id=room.id, message_id=message.id, pinned_by_id=who.user.id))
        event = await pin_changed(session, request, who, room, message.id, "pin")
        frame = events.event_wire(room.slug, event, None, None)
    await publish(request, room.slug, frame)
    return JSON(
        {"pin": {"room": room.slug, "message_id": message.id, "seq": event.seq}}, status_code=201
    )


async def unpin_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        message_id = path_id(request, "message_id")
        pin = await session.get(Pin, (room.id, message_id))
        if pin is None:
            raise NotFound(f"message {message_id} is not pinned in room {room.slug}")
        # A pin is a pointer, not a record: the audit entry and the event are its history.
        await session.delete(pin)
        event = await pin_changed(session, request, who, room, message_id, "unpin")
        frame = events.event_wire(room.slug, event, None, None)
    await publish(request, room.slug, frame)
    return Response(status_code=204)


async def list_pins(request: Request) -> Response:
    return await room_list(request, "pins", repo.pins_of)


# Team members of area rooms.


async def add_member(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, UserIn)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        rules.check_membership_room(room_ref(room))
        username, reason = username_of(given.username), optional_reason(given.reason)
        _, target = await repo.change_membership(
            session, "add", room.slug, username, source(request, who), reason
        )
    return JSON({"member": {"room": room.slug, "username": target.username}}, status_code=201)


async def remove_member(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        _, target = await repo.change_membership(
            session, "remove", room.slug, request.path_params["username"], source(request, who)
        )
        reads = await still_reads(session, room, target, None)
    if not reads:
        await revoke(request, room.slug, target.id, REMOVED_NOT_A_MEMBER)
    return Response(status_code=204)


async def member_wires(session: AsyncSession, room_id: int) -> list[dict[str, Any]]:
    return [events.author_wire(u) for u in await repo.members_of(session, room_id)]


async def list_members(request: Request) -> Response:
    return await room_list(request, "members", member_wires)


def routes() -> list[BaseRoute]:
    room = "/api/rooms/{slug}"
    message = room + "/messages/{message_id:int}"
    change, read, act = (400, 403, 404), (403, 404), (400, 403, 404, 409)
    m = "moderation"
    # fmt: off
    return [
        api(room, "PATCH", update_room, "change topic, lock, archive, slow mode", m,
            out=shapes.RoomOut, body=RoomPatch, errors=change),
        api(message + "/hide", "POST", hide_message,
            "hide a message (subscribers get `message_hidden`)", m,
            out=shapes.Hidden, body=HideIn, errors=act),
        api(message + "/report", "POST", report_message, "report a message to the moderators", m,
            out=shapes.ReportOut, status=201, body=ReportIn, errors=act),
        api(room + "/bans", "POST", ban_user,
            "ban a user from the room (their sockets get `removed`)", m,
            out=shapes.BanOut, status=201, body=BanIn, errors=change),
        api(room + "/bans", "GET", list_bans, "bans in force", m, out=shapes.Bans, errors=read),
        api(room + "/bans/{username}", "DELETE", unban_user, "lift a ban", m,
            status=204, errors=read),
        api(room + "/mutes", "POST", mute_user,
            "mute a user in the room (`send` answers `muted`)", m,
            out=shapes.MuteOut, status=201, body=MuteIn, errors=change),
        api(room + "/mutes", "GET", list_mutes, "mutes in force", m,
            out=shapes.Mutes, errors=read),
        api(room + "/mutes/{username}", "DELETE", unmute_user, "lift a mute", m,
            status=204, errors=read),
        api(room + "/moderators", "POST", add_moderator,
            "make a user moderator of the room (admins only)", m,
            out=shapes.ModeratorOut, status=201, body=UserIn, errors=act),
        api(room + "/moderators", "GET", list_moderators, "the room's own moderators", m,
            out=shapes.Moderators, errors=read),
        api(room + "/moderators/{username}", "DELETE", remove_moderator,
            "end a room moderator's role (admins only)", m, status=204, errors=read),
        api(room + "/members", "POST", add_member, "add a user to an area's team", m,
            out=shapes.MemberOut, status=201, body=UserIn, errors=act),
        api(room + "/members", "GET", list_members, "an area's team", m,
            out=shapes.Members, errors=read),
        api(room + "/members/{username}", "DELETE", remove_member,
            "remove a user from an area's team (their sockets get `removed`)", m,
            status=204, errors=change),
        api(room + "/pins", "GET", list_pins, "pinned messages", m, out=shapes.Pins, errors=read),
        api(room + "/pins/{message_id:int}", "POST", pin_message, "pin a message", m,
            out=shapes.PinOut, status=201, errors=act),
        api(room + "/pins/{message_id:int}", "DELETE", unpin_message, "unpin a message", m,
            status=204, errors=read),
        api("/api/reports", "GET", list_reports, "reports of the rooms the caller moderates", m,
            out=shapes.Reports, query=ReportsQuery, errors=change),
        api("/api/reports/{report_id:int}", "PATCH", handle_report,
            "resolve or dismiss a report", m, out=shapes.ReportOut, body=ReportPatch, errors=act),
        api("/api/audit", "GET", list_audit, "the audit log of the rooms the caller moderates", m,
            out=shapes.Audit, query=AuditQuery, errors=change),
    ]
    # fmt: on

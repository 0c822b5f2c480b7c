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
from starlette.routing import BaseRoute, Route

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
from web.responses import JSON, int_param, json_body, str_field

log = logging.getLogger("werkplaats.moderation")

# Ids beyond this cannot exist (BIGINT) and would make the database driver overflow.
MAX_ID = 2**62
MAX_LIST = 1000
ROOM_FIELDS = frozenset({"topic", "locked", "archived", "slow_mode_seconds", "reason"})

# What `removed` says to the connections of a user who lost access.
REMOVED_BANNED = "banned"
REMOVED_NOT_A_MEMBER = "membership_ended"
REMOVED_NOT_A_MODERATOR = "moderator_role_ended"


# Request parsing.


def bool_field(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise BadRequest(f"field {name!r} must be true or false")
    return value


def int_field(data: dict[str, Any], name: str, lo: int, hi: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"field {name!r} must be a whole number")
    if not lo <= value <= hi:
        raise BadRequest(f"field {name!r} must be between {lo} and {hi}")
    return value


def only_fields(data: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadRequest(
            f"unknown field {unknown[0]!r}; expected some of {', '.join(sorted(allowed))}"
        )


def username_field(data: dict[str, Any]) -> str:
    username = str_field(data, "username", max_len=64).strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise BadRequest("field 'username' is not a username ([a-z0-9._-]{2,32})")
    return username


def reason_field(data: dict[str, Any], *, required: bool = True) -> str:
    raw = str_field(data, "reason", required=required, max_len=rules.MAX_REASON_CHARS + 100)
    if not required and not raw.strip():
        return ""
    return rules.check_reason(raw)


def username_and_reason(data: dict[str, Any]) -> tuple[str, str]:
    """The body that adds someone to a room's moderators or members: who, and why (optional)."""
    only_fields(data, frozenset({"username", "reason"}))
    return username_field(data), reason_field(data, required=False)


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


async def publish(request: Request, slug: str, event: events.StoredEvent) -> None:
    try:
        await services(request).realtime.publish_event(slug, event)
    except Exception:
        log.exception("publishing %s seq %s of %s failed", event.type, event.seq, slug)


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
    data = await json_body(request)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        reason = reason_field(data)
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
        frame = events.stored_event(event, message)
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
    data = await json_body(request)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        only_fields(data, frozenset({"username", "reason", "until"}))
        username = username_field(data)
        reason = reason_field(data)
        now = utcnow()
        until = None
        if data.get("until") is not None:
            until = rules.parse_instant(str_field(data, "until", max_len=64), "until")
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
    data = await json_body(request)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        only_fields(data, frozenset({"username", "reason", "minutes"}))
        username = username_field(data)
        minutes = int_field(data, "minutes", 1, rules.MAX_MUTE_MINUTES)
        if minutes is None:
            raise BadRequest("field 'minutes' is required: how long the mute lasts")
        reason = reason_field(data)
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


def room_changes(data: dict[str, Any], room: Room) -> dict[str, Any]:
    """The settings the body changes (validated), in a fixed order; unchanged ones left out."""
    only_fields(data, ROOM_FIELDS)
    wanted: dict[str, Any] = {}
    if data.get("topic") is not None:
        wanted["topic"] = rules.check_topic(str_field(data, "topic", max_len=10_000))
    for name in ("locked", "archived"):
        value = bool_field(data, name)
        if value is not None:
            wanted[name] = value
    seconds = int_field(data, "slow_mode_seconds", 0, rules.MAX_SLOW_MODE_SECONDS)
    if seconds is not None:
        wanted["slow_mode_seconds"] = seconds
    if not wanted:
        raise BadRequest("give at least one of 'topic', 'locked', 'archived', 'slow_mode_seconds'")
    return {k: v for k, v in wanted.items() if getattr(room, k) != v}


async def update_room(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    data = await json_body(request)
    frame = None
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        changes = room_changes(data, room)
        reason = reason_field(data, required=False)
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
            frame = events.stored_event(event)
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
    data = await json_body(request)
    async with svc.db.write() as session:
        room = await find_room(session, request.path_params["slug"])
        username, reason = username_and_reason(data)
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
    data = await json_body(request)
    only_fields(data, frozenset({"reason"}))
    reason = reason_field(data)
    async with svc.db.write() as session:
        message = await find_message(session, room, request)
        if await repo.open_report_of(session, message.id, who.user.id) is not None:
            raise Conflict(f"you already reported message {message.id}; it is in the queue")
        report = await repo.add_report(session, room.id, message.id, who.user.id, reason)
        wire = repo.report_wire(report, room.slug, who.user.username, None, message)
    return JSON({"report": wire}, status_code=201)


async def scoped_room(
    session: AsyncSession, request: Request, scope: frozenset[int] | None
) -> Room | None:
    """The `room` query parameter, if given; within the caller's scope, else forbidden."""
    slug = request.query_params.get("room")
    if not slug:
        return None
    room = await find_room(session, slug, lock=False)
    if scope is not None and room.id not in scope:
        raise Forbidden(f"you may not moderate room {room.slug}")
    return room


async def list_reports(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    scope = rules.report_scope(who.actor)
    status = request.query_params.get("status") or None
    if status is not None and status not in rules.REPORT_STATUSES:
        raise BadRequest("query parameter 'status' must be open, resolved or dismissed")
    limit = int_param(request, "limit", 100, 1, MAX_LIST) or 100
    async with svc.db.read() as session:
        room = await scoped_room(session, request, scope)
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
    data = await json_body(request)
    report_id = path_id(request, "report_id")
    async with svc.db.write() as session:
        report = await session.get(Report, report_id, with_for_update=True)
        if report is None:
            raise NotFound(f"no report {report_id}")
        room = await session.get(Room, report.room_id)
        assert room is not None  # a foreign key
        check_moderate(who.actor, room_ref(room))
        only_fields(data, frozenset({"status", "reason"}))
        status = rules.check_report_status(str_field(data, "status", max_len=16))
        reason = reason_field(data, required=False)
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
    limit = int_param(request, "limit", 100, 1, repo.MAX_AUDIT_PAGE) or 100
    before = int_param(request, "before", None, 1, MAX_ID)
    async with svc.db.read() as session:
        room = await scoped_room(session, request, scope)
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
        frame = events.stored_event(event)
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
        frame = events.stored_event(event)
    await publish(request, room.slug, frame)
    return Response(status_code=204)


async def list_pins(request: Request) -> Response:
    return await room_list(request, "pins", repo.pins_of)


# Team members of area rooms.


async def add_member(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    data = await json_body(request)
    async with svc.db.write() as session:
        room = await moderated_room(session, request, who)
        rules.check_membership_room(room_ref(room))
        username, reason = username_and_reason(data)
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
    return [
        Route(room, update_room, methods=["PATCH"]),
        Route(message + "/hide", hide_message, methods=["POST"]),
        Route(message + "/report", report_message, methods=["POST"]),
        Route(room + "/bans", ban_user, methods=["POST"]),
        Route(room + "/bans", list_bans, methods=["GET"]),
        Route(room + "/bans/{username}", unban_user, methods=["DELETE"]),
        Route(room + "/mutes", mute_user, methods=["POST"]),
        Route(room + "/mutes", list_mutes, methods=["GET"]),
        Route(room + "/mutes/{username}", unmute_user, methods=["DELETE"]),
        Route(room + "/moderators", add_moderator, methods=["POST"]),
        Route(room + "/moderators", list_moderators, methods=["GET"]),
        Route(room + "/moderators/{username}", remove_moderator, methods=["DELETE"]),
        Route(room + "/members", add_member, methods=["POST"]),
        Route(room + "/members", list_members, methods=["GET"]),
        Route(room + "/members/{username}", remove_member, methods=["DELETE"]),
        Route(room + "/pins", list_pins, methods=["GET"]),
        Route(room + "/pins/{message_id:int}", pin_message, methods=["POST"]),
        Route(room + "/pins/{message_id:int}", unpin_message, methods=["DELETE"]),
        Route("/api/reports", list_reports, methods=["GET"]),
        Route("/api/reports/{report_id:int}", handle_report, methods=["PATCH"]),
        Route("/api/audit", list_audit, methods=["GET"]),
    ]

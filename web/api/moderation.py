"""Moderation endpoints: hide, bans, mutes, room settings, moderators, reports, audit, pins,
team members.

Each handler parses the request, calls its act in `web.actions.moderation` (which decides
and writes, with the audit entry, in one transaction) and, after that commit, hands what
the act returns to publish to the real-time hub.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from persistence import events
from persistence import moderation as repo
from persistence.models import Room
from rooms import moderation as rules
from rooms.errors import BadRequest, Forbidden, NotFound
from rooms.model import USERNAME_RE
from web.actions import moderation as acts
from web.actions.common import Acting, find_room
from web.actions.publish import Published, publish
from web.api.rooms import readable_room
from web.api.wire import room_wire
from web.auth import Caller
from web.deps import caller, client_address, services
from web.responses import JSON, int_param, json_body, str_field

# Ids beyond this cannot exist (BIGINT) and would make the database driver overflow.
MAX_ID = 2**62
MAX_LIST = 1000
ROOM_FIELDS = frozenset({"topic", "locked", "archived", "slow_mode_seconds", "reason"})


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


def room_settings(data: dict[str, Any]) -> dict[str, Any]:
    """The settings the body asks for (validated), in a fixed order."""
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
    return wanted


def path_id(request: Request, name: str) -> int:
    value: int = request.path_params[name]
    if value > MAX_ID:
        raise NotFound(f"no {name.replace('_', ' ')} {value}")
    return value


def acting(request: Request, who: Caller) -> Acting:
    """The caller as the acts and the audit log see them."""
    return Acting.member(who.actor, client_address(request))


async def sent(request: Request, published: Published, response: Response) -> Response:
    """Publish what the act committed, then answer."""
    await publish(services(request).realtime, published)
    return response


def no_content() -> Response:
    return Response(status_code=204)


# Hide.


async def hide_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    data = await json_body(request)
    reason = reason_field(data)
    message_id = path_id(request, "message_id")
    slug = request.path_params["slug"]
    seq, done = await acts.hide(svc.db, acting(request, who), slug, message_id, reason)
    return await sent(request, done, JSON({"message_id": message_id, "hidden": True, "seq": seq}))


# Bans and mutes.


async def ban_user(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    data = await json_body(request)
    only_fields(data, frozenset({"username", "reason", "until"}))
    username = username_field(data)
    reason = reason_field(data)
    until = None
    if data.get("until") is not None:
        until = rules.parse_instant(str_field(data, "until", max_len=64), "until")
    slug = request.path_params["slug"]
    ban, done = await acts.ban(svc.db, acting(request, who), slug, username, reason, until)
    wire = repo.restriction_wire(ban, slug, username, who.user.username)
    return await sent(request, done, JSON({"ban": wire}, status_code=201))


async def mute_user(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    data = await json_body(request)
    only_fields(data, frozenset({"username", "reason", "minutes"}))
    username = username_field(data)
    minutes = int_field(data, "minutes", 1, rules.MAX_MUTE_MINUTES)
    if minutes is None:
        raise BadRequest("field 'minutes' is required: how long the mute lasts")
    reason = reason_field(data)
    slug = request.path_params["slug"]
    mute, done = await acts.mute(svc.db, acting(request, who), slug, username, reason, minutes)
    wire = repo.restriction_wire(mute, slug, username, who.user.username)
    return await sent(request, done, JSON({"mute": wire}, status_code=201))


async def _lift(request: Request, kind: acts.Sanction) -> Response:
    svc = services(request)
    who = await caller(request)
    slug, username = request.path_params["slug"], request.path_params["username"]
    await acts.lift(svc.db, acting(request, who), kind, slug, username)
    return no_content()


async def unban_user(request: Request) -> Response:
    return await _lift(request, acts.BAN)


async def unmute_user(request: Request) -> Response:
    return await _lift(request, acts.MUTE)


async def _restrictions(request: Request, kind: acts.Sanction, key: str) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = request.path_params["slug"]
    rows = await acts.restrictions(svc.db, acting(request, who), kind, slug)
    return JSON({key: [repo.restriction_wire(r, slug, name, by) for r, name, by in rows]})


async def list_bans(request: Request) -> Response:
    return await _restrictions(request, acts.BAN, "bans")


async def list_mutes(request: Request) -> Response:
    return await _restrictions(request, acts.MUTE, "mutes")


# Room settings.


async def update_room(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    data = await json_body(request)
    wanted = room_settings(data)
    reason = reason_field(data, required=False)
    slug = request.path_params["slug"]
    room, done = await acts.update_room(svc.db, acting(request, who), slug, wanted, reason)
    return await sent(request, done, JSON({"room": room_wire(room)}))


# Room moderators (admins only).


async def add_moderator(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    data = await json_body(request)
    username, reason = username_and_reason(data)
    slug = request.path_params["slug"]
    await acts.add_moderator(svc.db, acting(request, who), slug, username, reason)
    return JSON({"moderator": {"room": slug, "username": username}}, status_code=201)


async def remove_moderator(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug, username = request.path_params["slug"], request.path_params["username"]
    done = await acts.remove_moderator(svc.db, acting(request, who), slug, username)
    return await sent(request, done, no_content())


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
    message_id = path_id(request, "message_id")
    wire = await acts.report(svc.db, who.actor, room, message_id, reason)
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
    only_fields(data, frozenset({"status", "reason"}))
    status = rules.check_report_status(str_field(data, "status", max_len=16))
    reason = reason_field(data, required=False)
    wire = await acts.handle_report(svc.db, acting(request, who), report_id, status, reason)
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


async def pin_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug, message_id = request.path_params["slug"], path_id(request, "message_id")
    seq, done = await acts.pin(svc.db, acting(request, who), slug, message_id)
    wire = {"pin": {"room": slug, "message_id": message_id, "seq": seq}}
    return await sent(request, done, JSON(wire, status_code=201))


async def unpin_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug, message_id = request.path_params["slug"], path_id(request, "message_id")
    done = await acts.unpin(svc.db, acting(request, who), slug, message_id)
    return await sent(request, done, no_content())


async def list_pins(request: Request) -> Response:
    return await room_list(request, "pins", repo.pins_of)


# Team members of area rooms.


async def add_member(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    data = await json_body(request)
    username, reason = username_and_reason(data)
    slug = request.path_params["slug"]
    _, user, _ = await acts.change_member(
        svc.db, acting(request, who), "add", slug, username, reason
    )
    return JSON({"member": {"room": slug, "username": user.username}}, status_code=201)


async def remove_member(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug, username = request.path_params["slug"], request.path_params["username"]
    _, _, done = await acts.change_member(svc.db, acting(request, who), "remove", slug, username)
    return await sent(request, done, no_content())


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

"""Moderation endpoints: hide, bans, mutes, room settings, moderators, reports, audit, pins,
team members.

Each handler parses the request, calls its act in `web.actions.moderation` (which decides
and writes, with the audit entry, in one transaction) and, after that commit, hands what
the act returns to publish to the real-time hub.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence import moderation as repo
from persistence.models import Room
from rooms import moderation as rules
from rooms.dutchtime import parse_dutch
from rooms.errors import BadRequest, Forbidden
from rooms.model import USERNAME_RE
from web.actions import moderation as acts
from web.actions.common import find_room
from web.api.common import acting, path_id, sent
from web.deps import caller, readable_room, services
from web.openapi import api
from web.responses import JSON, body_as, query_as
from web.wire import Author, author
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
from web.wire.rooms import room_wire

# Request parsing.


def username_of(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise BadRequest("field 'username' is not a username ([a-z0-9._-]{2,32})")
    return username


def room_settings(patch: RoomPatch) -> dict[str, Any]:
    """The settings the body asks for (validated), in a fixed order."""
    wanted: dict[str, Any] = {}
    if patch.topic is not None:
        wanted["topic"] = rules.check_topic(patch.topic)
    for name in ("locked", "archived", "slow_mode_seconds"):
        if (value := getattr(patch, name)) is not None:
            wanted[name] = value
    if not wanted:
        raise BadRequest("give at least one of 'topic', 'locked', 'archived', 'slow_mode_seconds'")
    return wanted


def no_content() -> Response:
    return Response(status_code=204)


# Hide.


async def hide_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    reason = rules.check_reason((await body_as(request, HideIn)).reason)
    message_id = path_id(request, "message_id")
    slug = request.path_params["slug"]
    seq, done = await acts.hide(svc.db, acting(request, who), slug, message_id, reason)
    return await sent(request, done, JSON({"message_id": message_id, "hidden": True, "seq": seq}))


# Bans and mutes.


async def ban_user(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, BanIn)
    username, reason = username_of(given.username), rules.check_reason(given.reason)
    until = rules.parse_instant(given.until, "until") if given.until is not None else None
    slug = request.path_params["slug"]
    ban, done = await acts.ban(svc.db, acting(request, who), slug, username, reason, until)
    wire = shapes.restriction(ban, slug, username, who.user.username)
    return await sent(request, done, JSON({"ban": wire}, status_code=201))


async def mute_user(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, MuteIn)
    username, minutes = username_of(given.username), given.minutes
    reason = rules.check_reason(given.reason)
    slug = request.path_params["slug"]
    mute, done = await acts.mute(svc.db, acting(request, who), slug, username, reason, minutes)
    wire = shapes.restriction(mute, slug, username, who.user.username)
    return await sent(request, done, JSON({"mute": wire}, status_code=201))


async def _lift(request: Request, kind: acts.Sanction) -> Response:
    svc = services(request)
    who = await caller(request)
    slug, username = request.path_params["slug"], request.path_params["username"]
    done = await acts.lift(svc.db, acting(request, who), kind, slug, username)
    return await sent(request, done, no_content())


async def unban_user(request: Request) -> Response:
    return await _lift(request, acts.BAN)


async def unmute_user(request: Request) -> Response:
    return await _lift(request, acts.MUTE)


async def _restrictions(request: Request, kind: acts.Sanction, key: str) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = request.path_params["slug"]
    rows = await acts.restrictions(svc.db, acting(request, who), kind, slug)
    return JSON({key: [shapes.restriction(r, slug, name, by) for r, name, by in rows]})


async def list_bans(request: Request) -> Response:
    return await _restrictions(request, acts.BAN, "bans")


async def list_mutes(request: Request) -> Response:
    return await _restrictions(request, acts.MUTE, "mutes")


# Room settings.


async def update_room(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    patch = await body_as(request, RoomPatch)
    wanted = room_settings(patch)
    reason = rules.optional_reason(patch.reason)
    slug = request.path_params["slug"]
    room, done = await acts.update_room(svc.db, acting(request, who), slug, wanted, reason)
    return await sent(request, done, JSON({"room": room_wire(room)}))


# Room moderators (admins only).


async def add_moderator(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, UserIn)
    username, reason = username_of(given.username), rules.optional_reason(given.reason)
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
    reason = rules.check_reason((await body_as(request, ReportIn)).reason)
    message_id = path_id(request, "message_id")
    added = await acts.report(svc.db, who.actor, room, message_id, reason)
    return JSON({"report": shapes.report(added)}, status_code=201)


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
    return JSON({"reports": [shapes.report(r) for r in reports]})


async def handle_report(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, ReportPatch)
    report_id = path_id(request, "report_id")
    status = rules.check_report_status(given.status)
    reason = rules.optional_reason(given.reason)
    handled = await acts.handle_report(svc.db, acting(request, who), report_id, status, reason)
    return JSON({"report": shapes.report(handled)})


# Audit log.


async def list_audit(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    asked = query_as(request, AuditQuery)
    wanted = acts.AuditFilter(
        room=asked.room,
        kind=asked.kind,
        person=asked.person,
        after=parse_dutch(asked.after, "after", default_time=time(0), what="query parameter")
        if asked.after
        else None,
        # `until` is a day, included: the entries before the next day begins.
        before=parse_dutch(asked.until, "until", default_time=time(0), what="query parameter")
        + timedelta(days=1)
        if asked.until
        else None,
        before_id=asked.before,
        limit=asked.limit,
    )
    entries, names = await acts.audit_log(svc.db, who.actor, wanted)
    admin = rules.is_admin(who.actor)
    wires = [shapes.audit_entry(e, with_source=admin, names=names) for e in entries]
    return JSON({"entries": wires})


async def list_sanctions(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    asked = query_as(request, shapes.SanctionsQuery)
    kinds = tuple(k for k in (acts.BAN, acts.MUTE) if asked.kind in (None, k.action))
    found = await acts.sanctions_in_force(svc.db, who.actor, asked.room, kinds)
    return JSON(
        {
            "bans": [shapes.sanction(r) for r in found.get("ban", [])],
            "mutes": [shapes.sanction(r) for r in found.get("mute", [])],
        }
    )


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
    return await room_list(request, "pins", pins)


async def pins(session: AsyncSession, room_id: int) -> list[shapes.Pinned]:
    return [shapes.pinned(row) for row in await repo.pins_of(session, room_id)]


# Team members of area rooms.


async def add_member(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, UserIn)
    username, reason = username_of(given.username), rules.optional_reason(given.reason)
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


async def member_wires(session: AsyncSession, room_id: int) -> list[Author]:
    return [author(u) for u in await repo.members_of(session, room_id)]


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
        api("/api/sanctions", "GET", list_sanctions,
            "bans and mutes in force in the rooms the caller moderates", m,
            out=shapes.Sanctions, query=shapes.SanctionsQuery, errors=change),
    ]
    # fmt: on

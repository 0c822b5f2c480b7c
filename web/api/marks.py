"""Marking messages: vraag, besluit, actiepunt; answered questions; theme tags.

Each call appends one room event (with seq) in its transaction and publishes it after
commit, so every subscriber sees the mark in order with the messages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chat.frames import event_dict
from persistence import accounts
from persistence import marks as repo
from persistence.events import get_message
from persistence.meetings import all_meetings, ref, room_theme_id
from persistence.models import Message, Room, User, utcnow
from persistence.rooms import ban_of, mute_of, room_by_slug, room_ref
from rooms.access import check_post, may_moderate, may_read
from rooms.errors import BadRequest, NotFound
from rooms.marks import (
    MAX_THEMES_PER_MESSAGE,
    TAKES_OWNER_AND_DUE,
    check_fields,
    check_may_answer,
    check_may_mark,
    parse_due,
    parse_kind,
)
from rooms.meetings import default_due, meeting_for_room
from rooms.model import SLUG_RE, USERNAME_RE
from web.api.rooms import readable_room
from web.auth import Caller
from web.deps import caller, services
from web.responses import JSON, json_body

MAX_MESSAGE_ID = 2**62


def message_id_of(request: Request, name: str = "message_id") -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or int(raw) > MAX_MESSAGE_ID:
        raise NotFound(f"no message {raw!r}")
    return int(raw)


async def _postable(session: AsyncSession, who: Caller, slug: str) -> Room:
    """The room again inside the write transaction, checked for posting (ban, mute, lock)."""
    room = await room_by_slug(session, slug)
    if room is None:
        raise NotFound(f"no room {slug!r}")
    now = utcnow()
    check_post(
        who.actor,
        room_ref(room),
        await ban_of(session, room.id, who.user.id),
        await mute_of(session, room.id, who.user.id),
        now,
    )
    return room


async def _message(session: AsyncSession, room: Room, message_id: int) -> Message:
    message = await get_message(session, room.id, message_id)
    if message is None or message.hidden:
        raise NotFound(f"no message {message_id} in room {room.slug}")
    return message


async def _owner(session: AsyncSession, room: Room, raw: object) -> User | None:
    """The owner of an item: a user who may read the room."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not USERNAME_RE.fullmatch(raw.lower()):
        raise BadRequest("field 'owner' must be a username")
    owner = await accounts.user_by_name(session, raw.lower())
    if owner is None:
        raise BadRequest(f"field 'owner': no user {raw!r}")
    actor = await accounts.actor_for(session, owner)
    if not may_read(actor, room_ref(room), await ban_of(session, room.id, owner.id), utcnow()):
        raise BadRequest(f"field 'owner': {raw!r} may not read this room")
    return owner


async def mark_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = (await readable_room(request, who)).slug
    message_id = message_id_of(request)
    data = await json_body(request, max_bytes=4096)
    kind = parse_kind(data.get("kind"))
    check_fields(kind, data.get("owner"), data.get("due"))
    due = parse_due(data.get("due"))
    async with svc.db.write() as session:
        room = await _postable(session, who, slug)
        message = await _message(session, room, message_id)
        existing = repo.state_of(await repo.mark_of(session, message.id))
        moderator = may_moderate(who.actor, room_ref(room))
        check_may_mark(who.user.id, message.author_id, existing, moderator)
        owner = await _owner(session, room, data.get("owner"))
        meetings = await all_meetings(session)
        meeting = meeting_for_room(
            [ref(m) for m in meetings], utcnow(), room_theme_id(room, meetings)
        )
        if kind in TAKES_OWNER_AND_DUE:
            due = due or default_due(meeting)
        user = await session.get(User, who.user.id)
        assert user is not None
        frame = await repo.set_mark(
            session,
            room,
            message,
            user,
            kind,
            owner,
            due,
            meeting.id if meeting is not None and kind in TAKES_OWNER_AND_DUE else None,
        )
    await svc.realtime.publish_event(slug, frame)
    return JSON({"event": event_dict(slug, frame)})


async def mark_answered(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = (await readable_room(request, who)).slug
    message_id = message_id_of(request)
    data = await json_body(request, max_bytes=1024)
    reply_id = data.get("reply_id")
    if not isinstance(reply_id, int) or isinstance(reply_id, bool) or reply_id < 1:
        raise BadRequest("field 'reply_id' must be a message id")
    async with svc.db.write() as session:
        room = await _postable(session, who, slug)
        question = await _message(session, room, message_id)
        mark = await repo.mark_of(session, question.id)
        reply = await get_message(session, room.id, reply_id)
        if reply is None or reply.hidden:
            raise BadRequest(f"field 'reply_id': no message {reply_id} in room {slug}")
        check_may_answer(
            who.user.id,
            question.author_id,
            repo.state_of(mark),
            may_moderate(who.actor, room_ref(room)),
            reply.seq > question.seq,
        )
        assert mark is not None
        user = await session.get(User, who.user.id)
        assert user is not None
        frame = await repo.set_answered(session, room, mark, reply, user)
    await svc.realtime.publish_event(slug, frame)
    return JSON({"event": event_dict(slug, frame)})


async def unmark_message(request: Request) -> Response:
    """`DELETE .../mark`: by who marked it, the message's author or a moderator."""
    svc = services(request)
    who = await caller(request)
    slug = (await readable_room(request, who)).slug
    message_id = message_id_of(request)
    async with svc.db.write() as session:
        room = await _postable(session, who, slug)
        message = await _message(session, room, message_id)
        mark = await repo.mark_of(session, message.id)
        if mark is None:
            raise NotFound(f"message {message_id} has no mark")
        moderator = may_moderate(who.actor, room_ref(room))
        check_may_mark(who.user.id, message.author_id, repo.state_of(mark), moderator)
        user = await session.get(User, who.user.id)
        assert user is not None
        frame = await repo.clear_mark(session, room, mark, user)
    await svc.realtime.publish_event(slug, frame)
    return JSON({"event": event_dict(slug, frame)})


def _theme_slugs(data: dict[str, Any]) -> list[str]:
    raw = data.get("themes")
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise BadRequest("field 'themes' must be a list of theme slugs")
    slugs = list(dict.fromkeys(raw))
    if len(slugs) > MAX_THEMES_PER_MESSAGE:
        raise BadRequest(f"at most {MAX_THEMES_PER_MESSAGE} themes per message")
    for slug in slugs:
        if not SLUG_RE.fullmatch(slug):
            raise BadRequest(f"field 'themes': {slug!r} is not a slug")
    return slugs


async def tag_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = (await readable_room(request, who)).slug
    message_id = message_id_of(request)
    wanted = _theme_slugs(await json_body(request, max_bytes=4096))
    async with svc.db.write() as session:
        room = await _postable(session, who, slug)
        message = await _message(session, room, message_id)
        found = await repo.themes_by_slug(session, wanted)
        unknown = [s for s in wanted if s not in found]
        if unknown:
            raise BadRequest(f"field 'themes': no theme {unknown[0]!r}")
        user = await session.get(User, who.user.id)
        assert user is not None
        frame = await repo.set_themes(session, room, message, user, [found[s] for s in wanted])
    await svc.realtime.publish_event(slug, frame)
    return JSON({"event": event_dict(slug, frame)})


def routes() -> list[BaseRoute]:
    base = "/api/rooms/{slug}/messages/{message_id}"
    return [
        Route(f"{base}/mark", mark_message, methods=["POST"]),
        Route(f"{base}/mark", unmark_message, methods=["DELETE"]),
        Route(f"{base}/answered", mark_answered, methods=["POST"]),
        Route(f"{base}/tags", tag_message, methods=["POST"]),
    ]

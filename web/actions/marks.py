"""Marking messages: vraag, besluit, actiepunt; answered questions; theme tags.

Each act appends one room event (with seq) in its transaction; published after the commit,
every subscriber sees the mark in order with the messages.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts
from persistence import marks as repo
from persistence.db import Database
from persistence.events import get_message
from persistence.meetings import all_meetings, ref, room_theme_id
from persistence.models import Message, Room, User, utcnow
from persistence.rooms import ban_of, mute_of, room_by_slug, room_ref
from rooms.access import check_post, may_moderate, may_read
from rooms.errors import BadRequest, NotFound
from rooms.marks import (
    TAKES_OWNER_AND_DUE,
    ActionStatus,
    MarkKind,
    check_may_answer,
    check_may_mark,
    check_may_set_status,
)
from rooms.meetings import default_due, meeting_for_room
from rooms.model import USERNAME_RE, Actor
from web.actions.common import user_row
from web.actions.publish import Published, event


async def mark(
    db: Database,
    actor: Actor,
    slug: str,
    message_id: int,
    kind: MarkKind,
    owner_name: object,
    due: date | None,
) -> Published:
    """Mark (or re-mark) a message; an item's due date defaults to the next meeting's."""
    async with db.write() as session:
        room = await _postable(session, actor, slug)
        message = await _message(session, room, message_id)
        existing = repo.state_of(await repo.mark_of(session, message.id))
        check_may_mark(actor.user_id, message.author_id, existing, _moderates(actor, room))
        owner = await _owner(session, room, owner_name)
        meetings = await all_meetings(session)
        meeting = meeting_for_room(
            [ref(m) for m in meetings], utcnow(), room_theme_id(room, meetings)
        )
        item = kind in TAKES_OWNER_AND_DUE
        if item:
            due = due or default_due(meeting)
        by = await user_row(session, actor)
        ev = await repo.set_mark(
            session,
            room,
            message,
            by,
            kind,
            owner,
            due,
            meeting.id if meeting is not None and item else None,
        )
    return event(slug, ev)


async def answer(
    db: Database, actor: Actor, slug: str, message_id: int, reply_id: int
) -> Published:
    """Record the reply that answers a question."""
    async with db.write() as session:
        room = await _postable(session, actor, slug)
        question = await _message(session, room, message_id)
        found = await repo.mark_of(session, question.id)
        reply = await get_message(session, room.id, reply_id)
        if reply is None or reply.hidden:
            raise BadRequest(f"field 'reply_id': no message {reply_id} in room {slug}")
        check_may_answer(
            actor.user_id,
            question.author_id,
            repo.state_of(found),
            _moderates(actor, room),
            reply.seq > question.seq,
        )
        assert found is not None
        ev = await repo.set_answered(session, room, found, reply, await user_row(session, actor))
    return event(slug, ev)


async def set_status(
    db: Database, actor: Actor, slug: str, message_id: int, status: ActionStatus
) -> Published:
    """Change an actiepunt's status: by its owner, its author or a moderator."""
    async with db.write() as session:
        room = await _postable(session, actor, slug)
        message = await _message(session, room, message_id)
        found = await repo.mark_of(session, message.id)
        owner = found.owner_id if found is not None else None
        check_may_set_status(
            actor.user_id, repo.state_of(found), owner, message.author_id, _moderates(actor, room)
        )
        assert found is not None
        by = await user_row(session, actor)
        ev = await repo.set_action_status(session, room, found, status, by)
    return event(slug, ev)


async def unmark(db: Database, actor: Actor, slug: str, message_id: int) -> Published:
    """Remove a message's mark: by who marked it, the message's author or a moderator."""
    async with db.write() as session:
        room = await _postable(session, actor, slug)
        message = await _message(session, room, message_id)
        found = await repo.mark_of(session, message.id)
        if found is None:
            raise NotFound(f"message {message_id} has no mark")
        check_may_mark(
            actor.user_id, message.author_id, repo.state_of(found), _moderates(actor, room)
        )
        ev = await repo.clear_mark(session, room, found, await user_row(session, actor))
    return event(slug, ev)


async def tag(
    db: Database, actor: Actor, slug: str, message_id: int, wanted: list[str]
) -> Published:
    """Replace a message's theme tags by the themes `wanted` (slugs)."""
    async with db.write() as session:
        room = await _postable(session, actor, slug)
        message = await _message(session, room, message_id)
        found = await repo.themes_by_slug(session, wanted)
        unknown = [s for s in wanted if s not in found]
        if unknown:
            raise BadRequest(f"field 'themes': no theme {unknown[0]!r}")
        by = await user_row(session, actor)
        ev = await repo.set_themes(session, room, message, by, [found[s] for s in wanted])
    return event(slug, ev)


async def _postable(session: AsyncSession, actor: Actor, slug: str) -> Room:
    """The room again inside the write transaction, checked for posting (ban, mute, lock)."""
    room = await room_by_slug(session, slug)
    if room is None:
        raise NotFound(f"no room {slug!r}")
    check_post(
        actor,
        room_ref(room),
        await ban_of(session, room.id, actor.user_id),
        await mute_of(session, room.id, actor.user_id),
        utcnow(),
    )
    return room


def _moderates(actor: Actor, room: Room) -> bool:
    return may_moderate(actor, room_ref(room))


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

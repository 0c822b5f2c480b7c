"""What the real-time side writes to the database, one transaction per call.

Every function checks access itself, inside its transaction, so a ban or a lock that was
committed before is always honoured (the contract's "access checked on every frame").
The reads (`hello`, `subscribe`'s backlog, access checks) are in `chat.reads`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chat.reads import readable_room, room_or_404
from persistence.db import Database
from persistence.events import (
    DuplicateSend,
    author_wire,
    edit_message,
    event_wire,
    find_by_client_id,
    get_message,
    hide_message,
    post_message,
)
from persistence.models import Event, Message, Room, User, utcnow
from persistence.moderation import last_post_at
from persistence.rooms import (
    ban_of,
    mute_of,
    room_ref,
    set_read_marker,
)
from rooms.access import check_post, may_moderate
from rooms.errors import Conflict, DomainError, Forbidden, NotFound
from rooms.mentions import mentioned_usernames
from rooms.model import Actor
from rooms.moderation import check_slow_mode

RETRACTED = "retracted by the author"

# SQLite has one writer at a time. Writers of one process queue on this lock instead of
# on SQLite's busy handler, which polls with sleeps of up to 100 ms under contention.
_sqlite_locks: weakref.WeakKeyDictionary[Database, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def _write(db: Database) -> AsyncIterator[AsyncSession]:
    """`db.write()`, serialised within the process on SQLite."""
    if not db.is_sqlite:
        async with db.write() as session:
            yield session
        return
    lock = _sqlite_locks.setdefault(db, asyncio.Lock())
    async with lock, db.write() as session:
        yield session


@dataclass(frozen=True, slots=True)
class Acked:
    """The outcome of a send: the ack's fields, and the event frame when it is new."""

    message_id: int
    seq: int
    frame: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SendRequest:
    """One `send`, as the group commit queues it."""

    actor: Actor
    author: dict[str, Any]
    slug: str
    body: str
    client_id: str
    reply_to: int | None


async def post(db: Database, req: SendRequest) -> Acked:
    """Store a message (or find the one this client_id already made), in its own transaction."""
    try:
        async with _write(db) as session:
            return await _post_in(session, req)
    except DuplicateSend as dup:
        return Acked(dup.message_id, dup.seq, None)


async def post_many(db: Database, batch: list[SendRequest]) -> list[Acked | Exception]:
    """Group commit: several sends in one transaction, each in a savepoint of its own.

    A refused send (a `DomainError`, a duplicate) rolls back only its savepoint, so it
    neither gives back nor leaves a seq. If the transaction itself fails, every send of the
    batch fails with that error and none is stored.
    """
    results: list[Acked | Exception] = []
    async with _write(db) as session:
        for req in batch:
            try:
                async with session.begin_nested():
                    results.append(await _post_in(session, req))
            except DuplicateSend as dup:
                results.append(Acked(dup.message_id, dup.seq, None))
            except DomainError as exc:
                results.append(exc)
    return results


async def _post_in(session: AsyncSession, req: SendRequest) -> Acked:
    actor, slug, client_id = req.actor, req.slug, req.client_id
    room = await room_or_404(session, slug)
    now = utcnow()
    try:
        ban = await ban_of(session, room.id, actor.user_id)
        mute = await mute_of(session, room.id, actor.user_id)
        check_post(actor, room_ref(room), ban, mute, now)
        if room.slow_mode_seconds > 0 and not may_moderate(actor, room_ref(room)):
            last = await last_post_at(session, room.id, actor.user_id)
            check_slow_mode(last, now, room.slow_mode_seconds)
    except DomainError:
        # A resend of a message that made it before the refusal still gets its ack.
        done = await find_by_client_id(session, room.id, actor.user_id, client_id)
        if done is None:
            raise
        return Acked(done.id, done.seq, None)
    if req.reply_to is not None and await get_message(session, room.id, req.reply_to) is None:
        raise NotFound(f"no message {req.reply_to} in room {slug} to reply to")
    posted = await post_message(
        session, room.id, actor.user_id, req.body, client_id, req.reply_to, now
    )
    event = Event(
        room_id=room.id, seq=posted.seq, type="message", message_id=posted.message.id, data={}
    )
    frame = event_wire(slug, event, posted.message, None)
    frame["author"] = req.author
    return Acked(posted.message.id, posted.seq, frame)


async def _own_message(session: AsyncSession, room: Room, message_id: int, actor: Actor) -> Message:
    message = await get_message(session, room.id, message_id)
    if message is None:
        raise NotFound(f"no message {message_id} in room {room.slug}")
    if message.author_id != actor.user_id:
        raise Forbidden("you can only change your own messages")
    if message.hidden:
        raise Conflict(f"message {message_id} is hidden")
    return message


async def edit(
    db: Database, actor: Actor, slug: str, message_id: int, body: str
) -> tuple[dict[str, Any], list[str]]:
    """Edit the actor's own message: the `message_edited` event frame, and the usernames the
    edit newly mentions (they are notified as for a new message; the others were already)."""
    async with _write(db) as session:
        room = await room_or_404(session, slug)
        now = utcnow()
        ban = await ban_of(session, room.id, actor.user_id)
        mute = await mute_of(session, room.id, actor.user_id)
        check_post(actor, room_ref(room), ban, mute, now)
        message = await _own_message(session, room, message_id, actor)
        before = set(mentioned_usernames(message.body))
        event = await edit_message(session, message, body, actor.user_id)
        added = [name for name in mentioned_usernames(body) if name not in before]
        return event_wire(slug, event, message, None), added


async def retract(db: Database, actor: Actor, slug: str, message_id: int) -> dict[str, Any]:
    """Withdraw the actor's own message; returns the `message_hidden` event frame."""
    async with _write(db) as session:
        room = await readable_room(session, actor, slug)
        message = await _own_message(session, room, message_id, actor)
        user = await session.get(User, actor.user_id)
        assert user is not None
        event = await hide_message(session, message, user, RETRACTED)
        return event_wire(slug, event, message, None)


async def mark_read(db: Database, actor: Actor, slug: str, seq: int) -> int:
    """Move the actor's read marker forward (never past the room's seq); the stored value."""
    async with _write(db) as session:
        room = await readable_room(session, actor, slug)
        return await set_read_marker(session, actor.user_id, room.id, min(seq, room.last_seq))


async def user_wire(db: Database, user_id: int) -> dict[str, Any] | None:
    async with db.read() as session:
        user = await session.get(User, user_id)
        return author_wire(user) if user is not None else None

"""What the real-time side writes to the database, one transaction per call.

Every function checks access itself, inside its transaction, so a ban or a lock that was
committed before is always honoured (the contract's "access checked on every frame").
The reads (`hello`, `subscribe`'s backlog, access checks) are in `chat.reads`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from chat import frames
from chat.reads import readable_room, room_or_404
from persistence.authors import AuthorRow
from persistence.db import Database
from persistence.events import (
    StoredEvent,
    append_event,
    edit_message,
    get_message,
    hide_message,
    iso,
    stored_event,
)
from persistence.marks import mark_of
from persistence.models import Message, Room, User, utcnow
from persistence.reactions import lock_room, message_reactions, set_reaction
from persistence.rooms import (
    ban_of,
    mute_of,
    room_ref,
    set_read_marker,
)
from persistence.sends import KnownRooms, Send, Stored, store_postgres, store_sqlite
from rooms.access import check_post
from rooms.conversations import check_group_mention
from rooms.errors import Conflict, DomainError, Forbidden, NotFound
from rooms.marks import MarkKind
from rooms.mentions import mentioned_usernames
from rooms.model import Actor

RETRACTED = "retracted by the author"

log = logging.getLogger("werkplaats.sends")


class _WriteLock(asyncio.Lock):
    """SQLite has one writer at a time: a process's writers queue on this lock (one per
    database) instead of on SQLite's busy handler, which polls with sleeps of up to 100 ms."""


@asynccontextmanager
async def _write(db: Database) -> AsyncIterator[AsyncSession]:
    """`db.write()`, serialised within the process on SQLite."""
    if not db.is_sqlite:
        async with db.write() as session:
            yield session
        return
    lock = db.part(_WriteLock)
    async with lock, db.write() as session:
        yield session


@dataclass(slots=True)
class Acked:
    """The outcome of a send: the ack's fields, and the stored event when it is new."""

    message_id: int
    seq: int
    event: StoredEvent | None


@dataclass(slots=True)
class SendRequest:
    """One `send`, as the group commit queues it."""

    actor: Actor
    author: frames.Author
    slug: str
    body: str
    client_id: str
    reply_to: int | None
    files: tuple[int, ...] = ()
    topic: str | None = None
    # SQLite: the body's search fields, made as the send arrives (`GroupCommit.post`).
    search: tuple[str, str] | None = None


async def post(db: Database, req: SendRequest) -> Acked:
    """Store a message (or find the one this client_id already made), in its own transaction."""
    [result] = await post_many(db, [req])
    if isinstance(result, Exception):
        raise result
    return result


async def post_many(db: Database, batch: list[SendRequest]) -> list[Acked | Exception]:
    """Group commit: several sends in one transaction, set-based (`persistence.sends`).

    Each send is refused or stored as if the batch's sends had been stored one after
    another: a refused send (a `DomainError`) takes no seq, a repeated client_id answers
    with the original ack. If the transaction itself fails, every send of the batch fails
    with that error and none is stored.
    """
    # No time of ours: the database's clock decides and stamps them (docs/reliability.md).
    stored = await store_sends(
        db,
        [
            Send(r.actor, r.slug, r.body, r.client_id, r.reply_to, None, r.files, r.topic, r.search)
            for r in batch
        ],
    )
    return [_acked(req, s) for req, s in zip(batch, stored, strict=True)]


async def store_sends(db: Database, sends_: list[Send]) -> list[Stored | DomainError]:
    """Store the sends in one transaction, each refused or stored as if alone, in order
    (`persistence.sends`); the demo and the tests store messages this way too."""
    if db.is_sqlite:
        async with db.part(_WriteLock):
            return await _post_sqlite(db, sends_)
    return await _post_postgres(db, sends_)


async def _post_sqlite(db: Database, sends_: list[Send]) -> list[Stored | DomainError]:
    """The batch as one call in the writer thread, commit included: the commit waits for
    the disk (`synchronous=FULL`), which must never hold up the event loop."""
    return await db.run_in_writer(lambda driver: store_sqlite(driver, sends_))


async def _post_postgres(db: Database, sends_: list[Send]) -> list[Stored | DomainError]:
    """The batch on a kept connection (`store_postgres`). On a connection the database
    dropped, the sends are tried once more on a fresh one: safe, as a stored send is found
    again by its client_id (its frame is then not sent live; the hubs' poll delivers it).
    """
    known = db.part(KnownRooms)
    # A batch of one on a connection of its own: generic plans there, custom for batches.
    lone = len(sends_) == 1
    for attempt in (1, 2):
        try:
            async with db.held(lone=lone) as conn:
                return await store_postgres(_driver(conn), sends_, known)
        except Exception as exc:
            if attempt == 2 or not db.is_disconnect(exc):
                raise
            log.warning("send: connection lost (%r); trying once more", exc)
    raise AssertionError("unreachable")


def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under a held connection (checked out: no I/O, no greenlet)."""
    sync = conn.sync_connection
    assert sync is not None
    return sync.connection.driver_connection


def _acked(req: SendRequest, result: Stored | DomainError) -> Acked | Exception:
    if isinstance(result, DomainError):
        return result
    if not result.new:
        return Acked(result.message_id, result.seq, None)
    # The new message as a read gives it back, built without reading it.
    event = StoredEvent(
        result.seq,
        "message",
        result.message_id,
        result.data,
        joined=True,
        body=req.body,
        created_at=iso(result.at),
        client_id=req.client_id,
        reply_to=req.reply_to,
        author=AuthorRow(*msgspec.structs.astuple(req.author)),
        topic=result.topic,
    )
    return Acked(result.message_id, result.seq, event)


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
) -> tuple[StoredEvent, list[str]]:
    """Edit the actor's own message: the `message_edited` event, and the usernames the
    edit newly mentions (they are notified as for a new message; the others were already)."""
    async with _write(db) as session:
        room = await room_or_404(session, slug)
        now = utcnow()
        ban = await ban_of(session, room.id, actor.user_id)
        mute = await mute_of(session, room.id, actor.user_id)
        check_post(actor, room_ref(room), ban, mute, now)
        message = await _own_message(session, room, message_id, actor)
        mark = await mark_of(session, message.id)
        check_group_mention(
            actor, room_ref(room), body, asks=mark is not None and mark.kind == MarkKind.VRAAG.value
        )
        before = set(mentioned_usernames(message.body))
        event = await edit_message(session, message, body, actor.user_id)
        added = [name for name in mentioned_usernames(body) if name not in before]
        return stored_event(event, message), added


async def retract(db: Database, actor: Actor, slug: str, message_id: int) -> StoredEvent:
    """Withdraw the actor's own message; returns the `message_hidden` event."""
    async with _write(db) as session:
        room = await readable_room(session, actor, slug)
        message = await _own_message(session, room, message_id, actor)
        user = await session.get(User, actor.user_id)
        assert user is not None
        event = await hide_message(session, message, user, RETRACTED)
        return stored_event(event)


async def react(
    db: Database, actor: Actor, slug: str, message_id: int, emoji: str, on: bool
) -> StoredEvent | None:
    """Add or remove the actor's reaction: the `reactions` event with the message's whole
    set after the change, or None when nothing changed (no event)."""
    async with _write(db) as session:
        room = await room_or_404(session, slug)
        await lock_room(session, room.id)
        now = utcnow()
        ban = await ban_of(session, room.id, actor.user_id)
        mute = await mute_of(session, room.id, actor.user_id)
        check_post(actor, room_ref(room), ban, mute, now)
        message = await get_message(session, room.id, message_id)
        if message is None:
            raise NotFound(f"no message {message_id} in room {room.slug}")
        if message.hidden:
            raise Conflict(f"message {message_id} is hidden")
        if not await set_reaction(session, room.id, message.id, actor.user_id, emoji, on):
            return None
        event = await append_event(
            session, room.id, "reactions", message_id=message.id, actor_id=actor.user_id, at=now
        )
        # Read after the seq was taken, under the room's lock: exactly the changes up to it.
        event.data = {
            "by": actor.username,
            "reactions": await message_reactions(session, room.id, message.id),
        }
        return stored_event(event)


async def mark_read(db: Database, actor: Actor, slug: str, seq: int) -> int:
    """Move the actor's read marker forward (never past the room's seq); the stored value."""
    async with _write(db) as session:
        room = await readable_room(session, actor, slug)
        return await set_read_marker(session, actor.user_id, room.id, min(seq, room.last_seq))

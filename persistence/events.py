"""Room streams: seq assignment, edits and hides, and stored events read back.

Messages are stored by `persistence.sends`. Every other write takes the room's next seq
with `UPDATE rooms SET last_seq = last_seq + 1 RETURNING last_seq` inside the caller's
transaction. The UPDATE locks the room row (PostgreSQL) or the database (SQLite, BEGIN
IMMEDIATE) until commit, so seqs are gap-free, never reused, and committed in seq order
per room.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import publications
from persistence.authors import AuthorRow, author_row
from persistence.models import (
    Event,
    Member,
    Message,
    MessageRevision,
    Room,
    User,
    utcnow,
)
from persistence.models import (
    iso as iso,  # re-exported: many modules take the wire timestamp from here
)
from persistence.reactions import ReactionSets, reaction_sets_async
from persistence.search import index as search_index

MAX_PAGE = 1000


async def next_seq(session: AsyncSession, room_id: int) -> tuple[int, datetime | None]:
    """Take the room's next seq, with the database's time once the room's row is locked
    (PostgreSQL; None on SQLite, whose write lock makes this process's clock do); holds
    the room's write lock until the transaction ends."""
    stamp = func.clock_timestamp() if session.get_bind().dialect.name == "postgresql" else null()
    result = await session.execute(
        update(Room)
        .where(Room.id == room_id)
        .values(last_seq=Room.last_seq + 1)
        .returning(Room.last_seq, stamp)
    )
    seq, at = result.one()
    return int(seq), at


async def append_event(
    session: AsyncSession,
    room_id: int,
    type_: str,
    *,
    message_id: int | None = None,
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Event:
    """Add one event to a room's stream with the next seq. Its created_at is taken after
    the room's lock, on PostgreSQL from the database's clock (not `at`, which a host's
    clock gave before the lock), so created_at never falls as seq rises across hosts."""
    seq, locked_at = await next_seq(session, room_id)
    event = Event(
        room_id=room_id,
        seq=seq,
        type=type_,
        message_id=message_id,
        actor_id=actor_id,
        data=data or {},
        created_at=locked_at or at or utcnow(),
    )
    session.add(event)
    await session.flush()
    return event


async def get_message(session: AsyncSession, room_id: int, message_id: int) -> Message | None:
    return (
        await session.execute(
            select(Message).where(Message.id == message_id, Message.room_id == room_id)
        )
    ).scalar_one_or_none()


async def edit_message(session: AsyncSession, message: Message, body: str, actor_id: int) -> Event:
    """Replace a message's body, keeping the old one as a revision."""
    now = utcnow()
    session.add(MessageRevision(message_id=message.id, body=message.body, replaced_at=now))
    message.body = body
    message.edited_at = now
    await search_index.on_message_changed(session, message)
    return await append_event(
        session,
        message.room_id,
        "message_edited",
        message_id=message.id,
        actor_id=actor_id,
        data={"edited_at": iso(now)},
        at=now,
    )


async def hide_message(
    session: AsyncSession, message: Message, by: User | Member, reason: str
) -> Event:
    """Hide (moderation) or retract (author) a message; the text stays for the archive."""
    now = utcnow()
    message.hidden = True
    message.hidden_at = now
    message.hidden_by_id = by.id
    message.hidden_reason = reason
    await search_index.on_message_changed(session, message)
    await publications.withdraw_quoting(session, message, by.username, now)
    return await append_event(
        session,
        message.room_id,
        "message_hidden",
        message_id=message.id,
        actor_id=by.id,
        data={"by": by.username, "reason": reason},
        at=now,
    )


async def last_seq(session: AsyncSession, room_id: int) -> int:
    return int(
        (await session.execute(select(Room.last_seq).where(Room.id == room_id))).scalar_one()
    )


class StoredEvent(msgspec.Struct, frozen=True, gc=False):
    """A room event as stored, with its message's current state when it has one.

    `joined` says the message was read with it; timestamps are ISO-8601 in UTC (`iso`).
    A struct, not a dataclass: a backlog makes a thousand, and this is 4x cheaper.
    """

    seq: int
    type: str
    message_id: int | None
    data: dict[str, Any]
    joined: bool = False
    body: str | None = None
    hidden: bool = False
    created_at: str | None = None
    edited_at: str | None = None
    client_id: str | None = None
    reply_to: int | None = None
    author: AuthorRow | None = None
    topic: str | None = None
    # The message's reactions now (emoji: usernames), when the reader attached them
    # (`persistence.reactions.attach`); None: not read, and a `reactions` event shows its data.
    reactions: dict[str, list[str]] | None = None


def stored_event(
    event: Event, message: Message | None = None, author: User | None = None
) -> StoredEvent:
    """An ORM event (and its message and author, when read with it) as a `StoredEvent`."""
    if message is None:
        return StoredEvent(event.seq, event.type, event.message_id, event.data)
    return StoredEvent(
        event.seq,
        event.type,
        message.id,
        event.data,
        True,
        message.body,
        message.hidden,
        iso(message.created_at),
        iso(message.edited_at),
        message.client_id,
        message.reply_to,
        None if author is None else author_row(author),
        message.topic,
    )


# The events whose frame shows their message's reactions as they are now.
_SHOW_REACTIONS = frozenset({"message", "reactions"})


def message_span(page: Sequence[StoredEvent]) -> tuple[int, int] | None:
    """The lowest and highest message id whose reactions the page shows, if any."""
    ids = [e.message_id for e in page if e.joined and e.type in _SHOW_REACTIONS and e.message_id]
    return (min(ids), max(ids)) if ids else None


def with_reactions(page: list[StoredEvent], sets: ReactionSets) -> list[StoredEvent]:
    """The page with each message's (and each `reactions` event's) current reactions; a
    hidden message has none to readers, as it has no body (its `reactions` events still
    keep their seqs, with an empty set)."""
    if not sets and all(e.type != "reactions" for e in page):
        return page  # nothing to show: most backlogs
    return [_with_reactions(e, sets) if e.joined and e.type in _SHOW_REACTIONS else e for e in page]


def _with_reactions(e: StoredEvent, sets: ReactionSets) -> StoredEvent:
    now = {} if e.hidden else sets.get(e.message_id or 0, {})
    # A message without reactions shows `{}` from None as well: no copy of the event (most
    # messages of a backlog have none). A `reactions` event shows its set, empty or not.
    if not now and e.type == "message":
        return e
    return msgspec.structs.replace(e, reactions=now)


async def events_page(
    session: AsyncSession,
    room_id: int,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = 100,
    topic: str | None = None,
) -> tuple[list[StoredEvent], bool]:
    """Events with seq > after ascending, or seq < before (the newest first); `topic`
    keeps only the events of that topic's messages.

    Returns the frames in ascending seq order and whether more exist in the paging direction,
    their messages' reactions as they are now.
    """
    limit = max(1, min(limit, MAX_PAGE))
    query = (
        select(Event, Message, User)
        .outerjoin(Message, Message.id == Event.message_id)
        .outerjoin(User, User.id == Message.author_id)
        .where(Event.room_id == room_id)
    )
    if topic is not None:
        query = query.where(Message.topic == topic)
    if before is not None:
        query = query.where(Event.seq < before).order_by(Event.seq.desc())
    else:
        query = query.where(Event.seq > (after or 0)).order_by(Event.seq)
    rows: Sequence[Any] = (await session.execute(query.limit(limit + 1))).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows = list(reversed(rows))
    page = [stored_event(e, m, u) for e, m, u in rows]
    span = message_span(page)
    if span is None:
        return page, has_more
    return with_reactions(page, await reaction_sets_async(session, room_id, *span)), has_more


async def events_around(
    session: AsyncSession, room_id: int, around: int, limit: int = 100
) -> tuple[list[StoredEvent], bool, bool]:
    """Up to `limit` events centred on seq `around` (included), ascending.

    Near either end of the room the window fills from the other side. Returns the frames
    and whether more exist before and after them.
    """
    limit = max(1, min(limit, MAX_PAGE))
    older: list[StoredEvent] = []
    more_before = False
    if limit > 1:
        older, more_before = await events_page(session, room_id, before=around, limit=limit - 1)
    newer, more_after = await events_page(session, room_id, after=around - 1, limit=limit)
    n_before = min(len(older), max((limit - 1) // 2, limit - len(newer)))
    n_after = min(len(newer), limit - n_before)
    more_before = more_before or n_before < len(older)
    more_after = more_after or n_after < len(newer)
    if limit == 1 and not more_before:
        more_before = await _exists(session, room_id, Event.seq < around)
    return older[len(older) - n_before :] + newer[:n_after], more_before, more_after


async def _exists(session: AsyncSession, room_id: int, condition: Any) -> bool:
    query = select(Event.seq).where(Event.room_id == room_id, condition).limit(1)
    return (await session.execute(query)).first() is not None

"""Marks (vraag, besluit, actiepunt) and theme tags: rows plus the room events they cause.

Every change is a room event appended with the room's next seq in the caller's
transaction (`message_marked`, `question_answered`, `message_tagged`); the caller
publishes the returned event after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from persistence.events import StoredEvent, append_event, stored_event
from persistence.models import (
    Event,
    Message,
    MessageMark,
    MessageTheme,
    Room,
    Theme,
    User,
    utcnow,
)
from rooms.marks import (
    ACTION_FINISHED,
    ActionStatus,
    MarkKind,
    MarkState,
)


def state_of(mark: MessageMark | None) -> MarkState | None:
    if mark is None:
        return None
    return MarkState(MarkKind(mark.kind), mark.marked_by_id, mark.answer_id is not None)


async def mark_of(session: AsyncSession, message_id: int) -> MessageMark | None:
    return await session.get(MessageMark, message_id)


async def _message_event(
    session: AsyncSession,
    room: Room,
    type_: str,
    message_id: int,
    by: User,
    data: dict[str, Any],
    at: datetime | None = None,
) -> Event:
    """Append a room event about one message by `by` (whose name the data ends with)."""
    return await append_event(
        session,
        room.id,
        type_,
        message_id=message_id,
        actor_id=by.id,
        data={**data, "by": by.username},
        at=at,
    )


async def set_mark(
    session: AsyncSession,
    room: Room,
    message: Message,
    by: User,
    kind: MarkKind,
    owner: User | None,
    due: date | None,
    meeting_id: int | None,
) -> StoredEvent:
    """Mark (or re-mark) a message; returns the `message_marked` event."""
    now = utcnow()
    data = {
        "kind": kind.value,
        "owner": owner.username if owner is not None else None,
        "due": due.isoformat() if due is not None else None,
    }
    event = await _message_event(session, room, "message_marked", message.id, by, data, now)
    mark = await session.get(MessageMark, message.id)
    if mark is None:
        mark = MessageMark(message_id=message.id, room_id=room.id)
        session.add(mark)
    mark.kind = kind.value
    mark.owner_id = owner.id if owner is not None else None
    mark.due = due
    mark.meeting_id = meeting_id
    mark.marked_by_id = by.id
    mark.marked_at = now
    mark.event_seq = event.seq
    if kind is not MarkKind.VRAAG:
        mark.answer_id = mark.answered_by_id = mark.answered_at = None
    if kind is not MarkKind.ACTIEPUNT:
        mark.action_status = mark.status_changed_at = mark.status_changed_by_id = None
    elif mark.action_status is None:
        mark.action_status = ActionStatus.OPEN.value
    await session.flush()
    return stored_event(event)


async def set_answered(
    session: AsyncSession, room: Room, mark: MessageMark, reply: Message, by: User
) -> StoredEvent:
    """Record the reply that answers a question; returns the `question_answered` event."""
    now = utcnow()
    data = {"reply_id": reply.id}
    event = await _message_event(session, room, "question_answered", mark.message_id, by, data, now)
    mark.answer_id = reply.id
    mark.answered_by_id = by.id
    mark.answered_at = now
    await session.flush()
    return stored_event(event)


async def set_action_status(
    session: AsyncSession, room: Room, mark: MessageMark, status: ActionStatus, by: User
) -> StoredEvent:
    """Change an actiepunt's course; returns the `action_status_changed` event."""
    now = utcnow()
    data = {"status": status.value}
    event = await _message_event(
        session, room, "action_status_changed", mark.message_id, by, data, now
    )
    mark.action_status = status.value
    mark.status_changed_at = now
    mark.status_changed_by_id = by.id
    await session.flush()
    return stored_event(event)


async def themes_by_slug(session: AsyncSession, slugs: Iterable[str]) -> dict[str, Theme]:
    wanted = list(slugs)
    rows = await session.execute(select(Theme).where(Theme.slug.in_(wanted)))
    return {t.slug: t for t in rows.scalars()}


async def set_themes(
    session: AsyncSession, room: Room, message: Message, by: User, themes: list[Theme]
) -> StoredEvent:
    """Replace the message's theme tags; returns the `message_tagged` event."""
    await session.execute(delete(MessageTheme).where(MessageTheme.message_id == message.id))
    now = utcnow()
    for theme in themes:
        session.add(
            MessageTheme(message_id=message.id, theme_id=theme.id, room_id=room.id, tagged_at=now)
        )
    data = {"themes": [t.slug for t in themes]}
    event = await _message_event(session, room, "message_tagged", message.id, by, data, now)
    return stored_event(event)


@dataclass(frozen=True, slots=True)
class MarkedItem:
    """A marked message as the catch-up, the agenda and the digest list it."""

    mark: MessageMark
    message: Message
    room: Room
    author: User
    owner: User | None

    @property
    def open(self) -> bool:
        finished = self.mark.action_status in ACTION_FINISHED
        return (
            self.mark.kind != MarkKind.BESLUIT.value
            and self.mark.answer_id is None
            and not finished
        )


async def marked_items(
    session: AsyncSession,
    room_ids: Sequence[int],
    *where: ColumnElement[bool],
    limit: int = 500,
) -> list[MarkedItem]:
    """Marks of visible (not hidden) messages in these rooms, oldest first."""
    if not room_ids:
        return []
    owner = aliased(User)
    rows = await session.execute(
        select(MessageMark, Message, Room, User, owner)
        .join(Message, Message.id == MessageMark.message_id)
        .join(Room, Room.id == MessageMark.room_id)
        .join(User, User.id == Message.author_id)
        .outerjoin(owner, owner.id == MessageMark.owner_id)
        .where(MessageMark.room_id.in_(room_ids), Message.hidden.is_(False), *where)
        .order_by(Message.created_at, Message.id)
        .limit(limit)
    )
    return [MarkedItem(*row) for row in rows]


async def clear_mark(session: AsyncSession, room: Room, mark: MessageMark, by: User) -> StoredEvent:
    """Remove a mark; returns the `message_unmarked` event."""
    event = await _message_event(session, room, "message_unmarked", mark.message_id, by, {})
    await session.delete(mark)
    await session.flush()
    return stored_event(event)

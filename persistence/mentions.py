"""Mentions read from message bodies: whom a new message notifies.

Mentions are not stored: they are found in the bodies (a LIKE narrows the rows, the
parser of `rooms.mentions` decides), so an edit that adds or removes a mention counts
at once and nothing has to be wired into every write path. The room list counts the
unread ones (`persistence.handshake`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts
from persistence.db import Database
from persistence.events import AuthorRow, author_row, iso
from persistence.models import Message, Room, User, utcnow
from persistence.rooms import ban_of, room_by_slug, room_ref
from rooms.access import may_read
from rooms.mentions import excerpt, mentioned_usernames


@dataclass(frozen=True, slots=True)
class Mentioned:
    """A user a message mentions who may read its room: what their `mention` frame shows."""

    user_id: int
    room: str
    message_seq: int
    message_id: int
    author: AuthorRow | None
    excerpt: str
    created_at: str | None


async def mentioned(
    session: AsyncSession, room: Room, message: Message, only: Collection[str] | None = None
) -> list[Mentioned]:
    """Each user the message mentions who may read the room (of those named in `only`,
    when given).

    The author is never notified of their own mention; unknown usernames are ignored.
    """
    names = [n for n in mentioned_usernames(message.body) if only is None or n in only]
    if not names or message.hidden:
        return []
    author = await session.get(User, message.author_id)
    users = (await session.execute(select(User).where(User.username.in_(names)))).scalars()
    now = utcnow()
    result: list[Mentioned] = []
    for user in users:
        if user.id == message.author_id or user.pseudonymised:
            continue
        actor = await accounts.actor_for(session, user)
        if not may_read(actor, room_ref(room), await ban_of(session, room.id, user.id), now):
            continue
        found = Mentioned(
            user_id=user.id,
            room=room.slug,
            message_seq=message.seq,
            message_id=message.id,
            author=None if author is None else author_row(author),
            excerpt=excerpt(message.body),
            created_at=iso(message.created_at),
        )
        result.append(found)
    return result


async def mentioned_after_commit(
    db: Database, room_slug: str, message_id: int, only: Collection[str] | None = None
) -> list[Mentioned]:
    """`mentioned` for a committed message, in a read transaction of its own."""
    async with db.read() as session:
        room = await room_by_slug(session, room_slug)
        message = await session.get(Message, message_id)
        if room is None or message is None or message.room_id != room.id:
            return []
        return await mentioned(session, room, message, only)

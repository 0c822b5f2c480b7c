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
from persistence.authors import AuthorRow, author_row
from persistence.db import Database
from persistence.events import iso
from persistence.models import Membership, Message, Room, User, utcnow
from persistence.rooms import ban_of, room_by_slug, room_ref
from rooms.access import may_read
from rooms.conversations import AREA_GROUP, mentioned_groups
from rooms.mentions import excerpt, mentioned_usernames
from rooms.model import RoomKind

# A group mention notifies at most this many people (a layer of a large community).
MAX_GROUP = 500


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
    # the group through which the user is mentioned (`waterschap`, `gebied`), if any
    via: str | None = None


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
    users = list((await session.execute(select(User).where(User.username.in_(names)))).scalars())
    # A group (`@waterschap`, `@gebied`) reaches its members; a name said outright wins.
    via: dict[int, str] = {}
    for group in (g for g in mentioned_groups(message.body) if g in names):
        for user in await _group_members(session, room, group):
            if user.id not in via and user.username not in names:
                via[user.id] = group
                users.append(user)
    now = utcnow()
    result: list[Mentioned] = []
    seen: set[int] = set()
    for user in users:
        if user.id == message.author_id or user.pseudonymised or user.id in seen:
            continue
        seen.add(user.id)
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
            via=via.get(user.id),
        )
        result.append(found)
    return result


async def _group_members(session: AsyncSession, room: Room, group: str) -> list[User]:
    """The users a group mention names: a layer's users, or an area room's team (`gebied`);
    `mentioned` keeps those who may read the room."""
    if group == AREA_GROUP:
        if room.kind != RoomKind.AREA.value:
            return []
        query = select(User).join(Membership, Membership.user_id == User.id)
        query = query.where(Membership.room_id == room.id)
    else:
        query = select(User).where(User.layer == group)
    query = query.where(User.disabled_at.is_(None)).order_by(User.username)
    return list((await session.execute(query.limit(MAX_GROUP))).scalars())


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

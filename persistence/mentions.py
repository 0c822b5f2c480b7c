"""Mentions read from message bodies: unread counts per room and whom a new message notifies.

Mentions are not stored: they are found in the bodies (a LIKE narrows the rows, the
parser of `rooms.mentions` decides), so an edit that adds or removes a mention counts
at once and nothing has to be wired into every write path.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts
from persistence.db import Database
from persistence.events import author_wire, iso
from persistence.models import Membership, Message, Room, User, utcnow
from persistence.rooms import RoomSummary, ban_of, room_by_slug, room_ref
from rooms.access import may_read
from rooms.conversations import AREA_GROUP, mentioned_groups
from rooms.mentions import excerpt, mentioned_usernames, mentions
from rooms.model import RoomKind

# A group mention notifies at most this many people (a layer of a large community).
MAX_GROUP = 500


def _like_me(username: str) -> Any:
    # `@` is no LIKE wildcard; usernames hold `_`, which is: escape it.
    pattern = "%@" + username.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
    return func.lower(Message.body).like(pattern, escape="\\")


async def unread_mentions(
    session: AsyncSession, user_id: int, username: str, summaries: Sequence[RoomSummary]
) -> dict[str, int]:
    """Room slug → messages by others after the read marker that mention the user.

    Give it what `readable_rooms` returned; rooms without such messages are left out.
    """
    windows = [
        and_(Message.room_id == s.room.id, Message.seq > s.read_seq)
        for s in summaries
        if s.room.last_seq > s.read_seq
    ]
    if not windows:
        return {}
    slugs = {s.room.id: s.room.slug for s in summaries}
    rows = await session.execute(
        select(Message.room_id, Message.body).where(
            or_(*windows),
            Message.author_id != user_id,
            Message.hidden.is_(False),
            _like_me(username),
        )
    )
    counts: dict[str, int] = {}
    for room_id, body in rows:
        if mentions(body, username):
            counts[slugs[room_id]] = counts.get(slugs[room_id], 0) + 1
    return counts


async def mention_frames(
    session: AsyncSession, room: Room, message: Message, only: Collection[str] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """(user id, `mention` frame) for each user the message mentions who may read the room
    (of those named in `only`, when given).

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
    result: list[tuple[int, dict[str, Any]]] = []
    seen: set[int] = set()
    for user in users:
        if user.id == message.author_id or user.pseudonymised or user.id in seen:
            continue
        seen.add(user.id)
        actor = await accounts.actor_for(session, user)
        if not may_read(actor, room_ref(room), await ban_of(session, room.id, user.id), now):
            continue
        frame = {
            "type": "mention",
            "room": room.slug,
            # Not `seq`: this frame is no room stream event and must not move a client's seq.
            "message_seq": message.seq,
            "message_id": message.id,
            "author": author_wire(author) if author is not None else None,
            "excerpt": excerpt(message.body),
            "created_at": iso(message.created_at),
        }
        if user.id in via:
            frame["via"] = via[user.id]
        result.append((user.id, frame))
    return result


async def _group_members(session: AsyncSession, room: Room, group: str) -> list[User]:
    """The users a group mention names: a layer's users, or an area room's team (`gebied`);
    `mention_frames` keeps those who may read the room."""
    if group == AREA_GROUP:
        if room.kind != RoomKind.AREA.value:
            return []
        query = select(User).join(Membership, Membership.user_id == User.id)
        query = query.where(Membership.room_id == room.id)
    else:
        query = select(User).where(User.layer == group)
    query = query.where(User.disabled_at.is_(None)).order_by(User.username)
    return list((await session.execute(query.limit(MAX_GROUP))).scalars())


async def mention_deliveries(
    db: Database, room_slug: str, message_id: int, only: Collection[str] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """After a message is committed: (user id, `mention` frame) pairs, in a read transaction.

    For the `/ws` send path: `for uid, f in await mention_deliveries(...): notify_user(uid, f)`.
    """
    async with db.read() as session:
        room = await room_by_slug(session, room_slug)
        message = await session.get(Message, message_id)
        if room is None or message is None or message.room_id != room.id:
            return []
        return await mention_frames(session, room, message, only)

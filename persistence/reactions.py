"""Reactions: one row per (message, member, emoji), and each message's set read back.

A change is a room event (`reactions`) whose data is the message's whole set after the
change. The caller holds the room's lock (`lock_room`) from before it reads the set until
its commit, and takes the event's seq inside it, so the set an event carries holds every
change of a lower seq and none of a higher one: applied in seq order, the sets converge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Reaction, Room, User, utcnow
from persistence.prepared import Prepared

# message id -> emoji -> usernames, in the order the reactions were given
ReactionSets = dict[int, dict[str, list[str]]]

_SETS = (
    select(Reaction.message_id, Reaction.emoji, User.username)
    .join(User, User.id == Reaction.user_id)
    .where(
        Reaction.room_id == bindparam("room_id"),
        Reaction.message_id >= bindparam("lo"),
        Reaction.message_id <= bindparam("hi"),
    )
    .order_by(Reaction.message_id, Reaction.at, Reaction.user_id, Reaction.emoji)
)
_SETS_PREPARED = Prepared(_SETS)


def _fold(rows: Sequence[Any]) -> ReactionSets:
    sets: ReactionSets = {}
    for mid, emoji, username in rows:
        sets.setdefault(int(mid), {}).setdefault(emoji, []).append(username)
    return sets


def reaction_sets(conn: Connection, room_id: int, lo: int, hi: int) -> ReactionSets:
    """The reactions of the room's messages with lo ≤ id ≤ hi (a sync connection)."""
    return _fold(_SETS_PREPARED.rows(conn, {"room_id": room_id, "lo": lo, "hi": hi}))


async def reaction_sets_async(
    session: AsyncSession, room_id: int, lo: int, hi: int
) -> ReactionSets:
    """`reaction_sets` in a session."""
    rows = await session.execute(_SETS, {"room_id": room_id, "lo": lo, "hi": hi})
    return _fold(rows.all())


async def lock_room(session: AsyncSession, room_id: int) -> None:
    """Hold the room's row lock (PostgreSQL; SQLite's writer holds the database already)."""
    await session.execute(select(Room.id).where(Room.id == room_id).with_for_update())


async def set_reaction(
    session: AsyncSession, room_id: int, message_id: int, user_id: int, emoji: str, on: bool
) -> bool:
    """Add or remove one reaction; whether anything changed. The caller holds `lock_room`."""
    key = (Reaction.message_id == message_id, Reaction.user_id == user_id, Reaction.emoji == emoji)
    if not on:
        gone = await session.execute(delete(Reaction).where(*key))
        return bool(getattr(gone, "rowcount", 0))
    if (await session.execute(select(Reaction.emoji).where(*key))).first() is not None:
        return False
    session.add(
        Reaction(message_id=message_id, user_id=user_id, emoji=emoji, room_id=room_id, at=utcnow())
    )
    await session.flush()
    return True


async def message_reactions(
    session: AsyncSession, room_id: int, message_id: int
) -> dict[str, list[str]]:
    """One message's reactions now."""
    return (await reaction_sets_async(session, room_id, message_id, message_id)).get(message_id, {})

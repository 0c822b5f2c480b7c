"""Rooms as the API lists them, and the facts that access rules need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    column,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Ban, Mute, ReadMarker, Room, utcnow
from rooms.access import may_read
from rooms.model import Actor, Restriction, RoomKind, RoomRef

# A room list (`hello`, GET /api/rooms, the catch-up page) holds the shared rooms (theme,
# area, meeting) and the caller's own direct conversations, at most this many, the newest
# first: never anyone else's, of which a community has many thousands, and not without
# bound the caller's own, since anyone may open one with anyone. Older ones stay readable.
MAX_DIRECT_LISTED = 500
# A literal, not a bound parameter: both databases' planners use the partial index
# `ix_rooms_shared` only for a condition that matches its own (persistence/models.py).
SHARED_ROOM_SQL = "kind <> 'direct'"
SHARED_ROOM = Room.kind != literal_column("'direct'")
# The ids of the user's own direct conversations (`:user_id`), through their memberships.
OWN_DIRECT_SQL = (
    "SELECT mb.room_id FROM memberships AS mb JOIN rooms AS d ON d.id = mb.room_id"
    " WHERE mb.user_id = :user_id AND d.kind = 'direct'"
    " ORDER BY mb.room_id DESC LIMIT 500"
)
assert OWN_DIRECT_SQL.endswith(f" LIMIT {MAX_DIRECT_LISTED}")


def own_direct_ids(user_id: Any) -> Any:
    """`OWN_DIRECT_SQL` as a subquery, for a user id or a bind parameter (`user_id`)."""
    ids = text(OWN_DIRECT_SQL).columns(column("room_id", Integer))
    return ids if isinstance(user_id, BindParameter) else ids.bindparams(user_id=user_id)


def listed_rooms(user_id: Any) -> Any:
    """The rooms a room list considers for the user (`may_read` then decides)."""
    return or_(SHARED_ROOM, Room.id.in_(own_direct_ids(user_id)))


def room_ref(room: Room) -> RoomRef:
    return RoomRef(
        id=room.id,
        slug=room.slug,
        kind=RoomKind(room.kind),
        locked=room.locked,
        archived=room.archived,
    )


async def room_by_slug(session: AsyncSession, slug: str) -> Room | None:
    return (await session.execute(select(Room).where(Room.slug == slug))).scalar_one_or_none()


async def ban_of(session: AsyncSession, room_id: int, user_id: int) -> Restriction | None:
    ban = await session.get(Ban, (room_id, user_id))
    return Restriction(ban.until) if ban is not None else None


async def mute_of(session: AsyncSession, room_id: int, user_id: int) -> Restriction | None:
    mute = await session.get(Mute, (room_id, user_id))
    return Restriction(mute.until) if mute is not None else None


async def active_bans(session: AsyncSession, user_id: int, now: datetime) -> dict[int, Restriction]:
    rows = (
        await session.execute(
            select(Ban.room_id, Ban.until).where(
                Ban.user_id == user_id, or_(Ban.until.is_(None), Ban.until > now)
            )
        )
    ).all()
    return {room_id: Restriction(until) for room_id, until in rows}


@dataclass(frozen=True, slots=True)
class RoomSummary:
    room: Room
    read_seq: int


async def readable_rooms(session: AsyncSession, actor: Actor) -> list[RoomSummary]:
    """Every room the actor may read, with their read marker, in (kind, slug) order.

    The unread counts of the room list are `persistence.handshake.read_room_list`'s.
    """
    now = utcnow()
    bans = await active_bans(session, actor.user_id, now)
    listed = select(Room).where(listed_rooms(actor.user_id)).order_by(Room.kind, Room.slug)
    rooms = (await session.execute(listed)).scalars().all()
    visible = [r for r in rooms if may_read(actor, room_ref(r), bans.get(r.id), now)]
    if not visible:
        return []
    ids = [r.id for r in visible]
    markers = dict(
        (
            await session.execute(
                select(ReadMarker.room_id, ReadMarker.seq).where(
                    ReadMarker.user_id == actor.user_id, ReadMarker.room_id.in_(ids)
                )
            )
        ).all()
    )
    return [RoomSummary(r, int(markers.get(r.id, 0))) for r in visible]


async def set_read_marker(session: AsyncSession, user_id: int, room_id: int, seq: int) -> int:
    """Move the user's marker forward (never back); returns the marker now stored."""
    marker = await session.get(ReadMarker, (user_id, room_id))
    if marker is None:
        marker = ReadMarker(user_id=user_id, room_id=room_id, seq=seq, updated_at=utcnow())
        session.add(marker)
    elif seq > marker.seq:
        marker.seq = seq
        marker.updated_at = utcnow()
    await session.flush()
    return marker.seq

"""Rooms as the API lists them, and the facts that access rules need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Ban, Mute, ReadMarker, Room, utcnow
from rooms.access import may_read
from rooms.model import Actor, Restriction, RoomKind, RoomRef


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
    rooms = (await session.execute(select(Room).order_by(Room.kind, Room.slug))).scalars().all()
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

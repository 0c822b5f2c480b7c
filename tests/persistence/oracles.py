"""Slow reference implementations of production reads, kept only to test the fast ones.

Each is written with the ORM, read by read, as plainly as the rule it checks; the
production read (`persistence.handshake`) must answer exactly the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.meetings import all_meetings, ref, room_theme_id, theme_rooms, theme_slugs
from persistence.models import Event, Membership, Message, ReadMarker, Room, RoomModerator, User
from persistence.rooms import RoomSummary, readable_rooms, room_ref
from rooms.access import may_moderate
from rooms.meetings import meeting_for_room
from rooms.mentions import mentioned_usernames
from rooms.model import Actor, Role
from web.wire.meetings import meeting_wire


async def actor(session: AsyncSession, user: User) -> Actor:
    """The user's permissions: role, area rooms, and rooms they moderate."""
    area_rooms = await session.scalars(
        select(Membership.room_id)
        .join(Room, Room.id == Membership.room_id)
        .where(Membership.user_id == user.id)
    )
    moderated = await session.scalars(
        select(RoomModerator.room_id).where(RoomModerator.user_id == user.id)
    )
    return Actor(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        area_room_ids=frozenset(area_rooms),
        moderated_room_ids=frozenset(moderated),
    )


async def unread(session: AsyncSession, actor: Actor, room_ids: list[int]) -> dict[int, int]:
    """Room id → messages by others after the user's read marker."""
    rows = await session.execute(
        select(Event.room_id, func.count())
        .outerjoin(
            ReadMarker,
            and_(ReadMarker.room_id == Event.room_id, ReadMarker.user_id == actor.user_id),
        )
        .where(
            Event.room_id.in_(room_ids),
            Event.type == "message",
            Event.actor_id != actor.user_id,
            Event.seq > func.coalesce(ReadMarker.seq, 0),
        )
        .group_by(Event.room_id)
    )
    return {room_id: int(n) for room_id, n in rows}


async def unread_mentions(
    session: AsyncSession, actor: Actor, layer: str, summaries: list[RoomSummary]
) -> dict[str, int]:
    """Room slug → messages by others after the read marker that mention the user: by
    name, as `@` + their layer, or as `@gebied` in an area room whose team they are in."""
    windows = [
        and_(Message.room_id == s.room.id, Message.seq > s.read_seq)
        for s in summaries
        if s.room.last_seq > s.read_seq
    ]
    if not windows:
        return {}
    slugs = {s.room.id: s.room.slug for s in summaries}
    team = {s.room.id for s in summaries if s.room.kind == "area"} & actor.area_room_ids
    rows = await session.execute(
        select(Message.room_id, Message.body).where(
            or_(*windows),
            Message.author_id != actor.user_id,
            Message.hidden.is_(False),
            func.lower(Message.body).contains("@"),
        )
    )
    counts: dict[str, int] = {}
    for room_id, body in rows:
        names = mentioned_usernames(body)
        if (
            actor.username in names
            or (layer != "overig" and layer in names)
            or ("gebied" in names and room_id in team)
        ):
            counts[slugs[room_id]] = counts.get(slugs[room_id], 0) + 1
    return counts


# What the room list says of a room's next meeting: part two's meeting object but for
# `counts` and `my_registration` (the meeting page's).
ROOM_LIST_MEETING = frozenset(
    {"slug", "title", "theme", "date", "place", "programme", "room", "theme_room"}
    | {"ends_at", "status", "capacity", "registration_closes_at"}
)


async def next_meeting_per_room(
    session: AsyncSession, rooms: list[Room], now: datetime
) -> dict[str, dict[str, Any]]:
    """Room slug → the next meeting it prepares for: a meeting room its own meeting while
    it is ahead, a theme room its theme's next, an area room the next of any theme."""
    meetings = await all_meetings(session)
    if not meetings:
        return {}
    themes, t_rooms = await theme_slugs(session), await theme_rooms(session)
    by_id = {m.id: m for m in meetings}
    refs = [ref(m) for m in meetings]
    result: dict[str, dict[str, Any]] = {}
    for room in rooms:
        if room.meeting_id is not None:
            own = by_id.get(room.meeting_id)
            found = ref(own) if own is not None and own.starts_at > now else None
        else:
            found = meeting_for_room(refs, now, room_theme_id(room, meetings))
        if found is not None:
            wire = meeting_wire(by_id[found.id], themes, t_rooms)
            result[room.slug] = {k: v for k, v in wire.items() if k in ROOM_LIST_MEETING}
    return result


async def room_list(
    session: AsyncSession, actor: Actor, now: datetime, layer: str
) -> list[dict[str, Any]]:
    """The room list of `hello` and `GET /api/rooms`, as JSON values."""
    summaries = await readable_rooms(session, actor)
    counts = await unread_mentions(session, actor, layer, summaries)
    unread_by_room = await unread(session, actor, [s.room.id for s in summaries])
    upcoming = await next_meeting_per_room(session, [s.room for s in summaries], now)
    return [
        {
            "slug": s.room.slug,
            "name": s.room.name,
            "kind": s.room.kind,
            "topic": s.room.topic,
            "last_seq": s.room.last_seq,
            "read_seq": s.read_seq,
            "unread": unread_by_room.get(s.room.id, 0),
            "locked": s.room.locked,
            "archived": s.room.archived,
            "unread_mentions": counts.get(s.room.slug, 0),
            "next_meeting": upcoming.get(s.room.slug),
            "can_moderate": may_moderate(actor, room_ref(s.room)),
        }
        for s in summaries
    ]

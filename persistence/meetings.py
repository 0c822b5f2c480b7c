"""Meetings as the catch-up, agenda and room list need them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import moderation, registrations
from persistence.models import Meeting, Room, Theme
from rooms.meetings import MeetingRef, listing_order, next_meeting
from rooms.registration import MeetingStatus


def ref(meeting: Meeting) -> MeetingRef:
    return MeetingRef(
        meeting.id,
        meeting.slug,
        meeting.theme_id,
        meeting.starts_at,
        meeting.status == MeetingStatus.CANCELLED,
    )


async def all_meetings(session: AsyncSession) -> list[Meeting]:
    return list((await session.execute(select(Meeting).order_by(Meeting.starts_at))).scalars())


async def meeting_by_slug(session: AsyncSession, slug: str) -> Meeting | None:
    return (await session.execute(select(Meeting).where(Meeting.slug == slug))).scalar_one_or_none()


async def theme_slugs(session: AsyncSession) -> dict[int, str]:
    return dict((await session.execute(select(Theme.id, Theme.slug))).all())


async def theme_rooms(session: AsyncSession) -> dict[int, str]:
    """Theme id → the slug of its theme room."""
    rows = await session.execute(
        select(Room.theme_id, Room.slug).where(Room.kind == "theme", Room.theme_id.is_not(None))
    )
    return {int(t): s for t, s in rows if t is not None}


def meeting_wire(
    meeting: Meeting, themes: dict[int, str], theme_rooms: dict[int, str]
) -> dict[str, Any]:
    """A meeting with the links the client follows: its own room and its theme's room."""
    theme = themes.get(meeting.theme_id) if meeting.theme_id is not None else None
    theme_room = theme_rooms.get(meeting.theme_id) if meeting.theme_id is not None else None
    return {**moderation.meeting_wire(meeting, theme), "theme_room": theme_room}


def room_theme_id(room: Room, meetings: list[Meeting]) -> int | None:
    """The theme a room is about: its own (theme room), its meeting's, or none (area room)."""
    if room.theme_id is not None:
        return room.theme_id
    if room.meeting_id is not None:
        for m in meetings:
            if m.id == room.meeting_id:
                return m.theme_id
    return None


async def upcoming(session: AsyncSession, now: Any) -> dict[str, Any] | None:
    """The next meeting of all (for `GET /api/meetings` and the catch-up page)."""
    meetings = await all_meetings(session)
    found = next_meeting([ref(m) for m in meetings], now)
    if found is None:
        return None
    meeting = next(m for m in meetings if m.id == found.id)
    return meeting_wire(meeting, await theme_slugs(session), await theme_rooms(session))


async def full_wires(
    session: AsyncSession, meetings: list[Meeting], user_id: int | None
) -> list[dict[str, Any]]:
    """The contract's meeting objects: with `counts` and the caller's `my_registration`.

    `my_position` (added) is the caller's place on the waitlist, 1 the next to move up.
    """
    ids = [m.id for m in meetings]
    themes, t_rooms = await theme_slugs(session), await theme_rooms(session)
    tallies = await registrations.counts(session, ids)
    own = await registrations.mine(session, ids, user_id) if user_id is not None else {}
    wires = []
    for m in meetings:
        reg = own.get(m.id)
        wires.append(
            {
                **meeting_wire(m, themes, t_rooms),
                "counts": tallies[m.id].wire(),
                "my_registration": reg.status if reg is not None else None,
                "my_position": await registrations.position(session, reg)
                if reg is not None
                else None,
            }
        )
    return wires


async def full_wire(session: AsyncSession, meeting: Meeting, user_id: int | None) -> dict[str, Any]:
    return (await full_wires(session, [meeting], user_id))[0]


async def listing(session: AsyncSession, user_id: int, now: Any) -> list[dict[str, Any]]:
    """`GET /api/meetings`: coming first by date, then past newest first."""
    meetings = await all_meetings(session)
    by_id = {m.id: m for m in meetings}
    ordered = [by_id[r.id] for r in listing_order([ref(m) for m in meetings], now)]
    return await full_wires(session, ordered, user_id)

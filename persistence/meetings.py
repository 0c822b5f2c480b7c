"""Meetings as the catch-up, agenda and room list need them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import registrations
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


def room_theme_id(room: Room, meetings: list[Meeting]) -> int | None:
    """The theme a room is about: its own (theme room), its meeting's, or none (area room)."""
    if room.theme_id is not None:
        return room.theme_id
    if room.meeting_id is not None:
        for m in meetings:
            if m.id == room.meeting_id:
                return m.theme_id
    return None


async def upcoming(session: AsyncSession, now: Any) -> Meeting | None:
    """The next meeting of all (for `GET /api/meetings` and the catch-up page)."""
    meetings = await all_meetings(session)
    found = next_meeting([ref(m) for m in meetings], now)
    return None if found is None else next(m for m in meetings if m.id == found.id)


@dataclass(frozen=True, slots=True)
class MeetingView:
    """A meeting with its counts and the caller's registration and waitlist place."""

    meeting: Meeting
    counts: registrations.Counts
    registration: str | None
    position: int | None


async def views(
    session: AsyncSession, meetings: list[Meeting], user_id: int | None
) -> list[MeetingView]:
    """The meetings with their counts and, when there is a caller, their registration."""
    ids = [m.id for m in meetings]
    tallies = await registrations.counts(session, ids)
    own = await registrations.mine(session, ids, user_id) if user_id is not None else {}
    found = []
    for m in meetings:
        reg = own.get(m.id)
        place = await registrations.position(session, reg) if reg is not None else None
        found.append(MeetingView(m, tallies[m.id], reg.status if reg is not None else None, place))
    return found


async def listing(session: AsyncSession, now: Any) -> list[Meeting]:
    """`GET /api/meetings`: coming first by date, then past newest first."""
    meetings = await all_meetings(session)
    by_id = {m.id: m for m in meetings}
    return [by_id[r.id] for r in listing_order([ref(m) for m in meetings], now)]

"""Meetings as the catch-up, agenda and room list need them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import moderation
from persistence.models import Meeting, Room, Theme
from rooms.meetings import MeetingRef, next_meeting


def ref(meeting: Meeting) -> MeetingRef:
    return MeetingRef(meeting.id, meeting.slug, meeting.theme_id, meeting.starts_at)


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

"""Meetings in time: the next and the previous one, catch-up windows, due-date defaults."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Since(StrEnum):
    """Where a catch-up starts: the last meeting held, or the member's last visit."""

    LAST_MEETING = "last_meeting"
    LAST_VISIT = "last_visit"


@dataclass(frozen=True, slots=True)
class MeetingRef:
    """The facts about a meeting that windows and defaults need."""

    id: int
    slug: str
    theme_id: int | None
    starts_at: datetime
    # A cancelled meeting is listed, but is no one's next or last meeting.
    cancelled: bool = False


def _of_theme(meetings: Iterable[MeetingRef], theme_id: int | None) -> list[MeetingRef]:
    return [m for m in meetings if not m.cancelled and (theme_id is None or m.theme_id == theme_id)]


def next_meeting(
    meetings: Iterable[MeetingRef], now: datetime, theme_id: int | None = None
) -> MeetingRef | None:
    """The first meeting that has not started yet (of the theme, when one is given)."""
    ahead = [m for m in _of_theme(meetings, theme_id) if m.starts_at > now]
    return min(ahead, key=lambda m: (m.starts_at, m.slug), default=None)


def previous_meeting(
    meetings: Iterable[MeetingRef], now: datetime, theme_id: int | None = None
) -> MeetingRef | None:
    """The latest meeting that has started (of the theme, when one is given)."""
    held = [m for m in _of_theme(meetings, theme_id) if m.starts_at <= now]
    return max(held, key=lambda m: (m.starts_at, m.slug), default=None)


def meeting_before(meetings: Iterable[MeetingRef], meeting: MeetingRef) -> MeetingRef | None:
    """The meeting held last before this one (any theme): where its agenda and digest start."""
    earlier = [m for m in meetings if m.starts_at < meeting.starts_at and not m.cancelled]
    return max(earlier, key=lambda m: (m.starts_at, m.slug), default=None)


def window_start(meetings: Iterable[MeetingRef], now: datetime) -> datetime | None:
    """Start of "since the last meeting": the last meeting held; None means from the start."""
    held = previous_meeting(meetings, now)
    return held.starts_at if held is not None else None


def meeting_for_room(
    meetings: Iterable[MeetingRef], now: datetime, theme_id: int | None
) -> MeetingRef | None:
    """The meeting an item marked in a room belongs to: the next of its theme, else the next."""
    pool = list(meetings)
    if theme_id is not None:
        own = next_meeting(pool, now, theme_id)
        if own is not None:
            return own
    return next_meeting(pool, now)


def default_due(meeting: MeetingRef | None) -> date | None:
    """An action item or question is due at the meeting it belongs to."""
    return meeting.starts_at.date() if meeting is not None else None


def listing_order(meetings: Iterable[MeetingRef], now: datetime) -> list[MeetingRef]:
    """The coming meetings first in date order, then the past ones newest first."""
    pool = list(meetings)
    coming = sorted((m for m in pool if m.starts_at > now), key=lambda m: (m.starts_at, m.slug))
    past = sorted(
        (m for m in pool if m.starts_at <= now), key=lambda m: (m.starts_at, m.slug), reverse=True
    )
    return coming + past

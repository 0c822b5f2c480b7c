"""Registering for a meeting: when it is open, what an answer becomes, who moves up.

A meeting with a `capacity` has that many `going` places; whoever asks for `going` when
they are taken is put on the waitlist, in order of asking. When a place frees up (someone
leaves, or the capacity is raised) the first on the waitlist becomes `going` at once. The
caller holds the meeting's row lock while it applies these decisions, so two registrations
for the last place cannot both get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rooms.errors import BadRequest, Conflict


class Answer(StrEnum):
    """What a member may ask for."""

    GOING = "going"
    MAYBE = "maybe"
    NOT_GOING = "not_going"


class Status(StrEnum):
    """What a registration is: an answer, or a place on the waitlist."""

    GOING = "going"
    MAYBE = "maybe"
    WAITLIST = "waitlist"
    NOT_GOING = "not_going"


class MeetingStatus(StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


# The largest capacity a meeting may have: larger is a typing error, not a venue.
MAX_CAPACITY = 100_000


@dataclass(frozen=True, slots=True)
class Window:
    """The facts about a meeting that decide whether answers are taken."""

    starts_at: datetime
    closes_at: datetime | None
    cancelled: bool


def check_open(window: Window, now: datetime) -> None:
    """Registration is open until it closes, the meeting starts, or it is cancelled."""
    if window.cancelled:
        raise Conflict("the meeting is cancelled: registration is closed")
    if now >= window.starts_at:
        raise Conflict("the meeting has started: registration is closed")
    if window.closes_at is not None and now >= window.closes_at:
        raise Conflict("registration for this meeting has closed")


def check_capacity(capacity: int | None) -> None:
    if capacity is not None and not 0 <= capacity <= MAX_CAPACITY:
        raise BadRequest(f"field 'capacity' must be between 0 and {MAX_CAPACITY}, or null")


def check_closes(closes_at: datetime | None, starts_at: datetime) -> None:
    if closes_at is not None and closes_at > starts_at:
        raise BadRequest("field 'registration_closes_at' must not lie after the meeting's start")


def check_ends(ends_at: datetime | None, starts_at: datetime) -> None:
    if ends_at is not None and ends_at <= starts_at:
        raise BadRequest("field 'ends_at' must lie after the meeting's start")


def status_for(answer: Answer, current: Status | None, going: int, capacity: int | None) -> Status:
    """The status an answer gets: `going` beyond the capacity waits.

    `going` counts the places taken by others (the caller's own excluded). Asking `going`
    again while on the waitlist keeps the place in the queue.
    """
    if answer is not Answer.GOING:
        return Status(answer.value)
    if current is Status.GOING:
        return Status.GOING
    if capacity is not None and going >= capacity:
        return Status.WAITLIST
    return Status.GOING


def places_free(going: int, capacity: int | None, waiting: int) -> int:
    """How many of the waitlist move up now."""
    if capacity is None:
        return waiting
    return max(0, min(waiting, capacity - going))


def may_record_attendance(starts_at: datetime, now: datetime) -> None:
    if now < starts_at:
        raise Conflict("attendance can be recorded from the meeting's start")

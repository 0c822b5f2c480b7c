"""Dutch time: what a person types or reads is Europe/Amsterdam; what is stored is UTC.

`parse_dutch` turns what a person typed (a date, a date and time without a zone, or an
ISO-8601 date-time with an offset or `Z`) into an aware UTC datetime; `format_dutch` and
`format_dutch_date` write a moment for people ("dinsdag 1 december 2026, 10:00"). The
zone comes from `zoneinfo`, backed by the `tzdata` package where the host has no zone
database, so a summer date is never silently read as winter time or as UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from rooms.errors import BadRequest
from rooms.moments import MomentError, in_range

DUTCH = ZoneInfo("Europe/Amsterdam")
# A meeting given as a bare date starts at this hour, Dutch time.
DEFAULT_START = time(10, 0)

WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def from_local(day: date, at: time = DEFAULT_START) -> datetime:
    """A wall-clock time in the Netherlands on `day` as an aware UTC datetime.

    A time that does not exist (the hour skipped in spring) moves forward with the clocks;
    one that happens twice (autumn) is the first, summer-time one: `fold=0`.
    """
    local = datetime.combine(day, at, tzinfo=DUTCH)
    # Round-trip through UTC so a skipped wall time normalises to one that exists.
    return local.astimezone(UTC)


def parse_dutch(
    value: str, field: str, *, default_time: time = DEFAULT_START, what: str = "field"
) -> datetime:
    """What a person typed as an aware UTC datetime; no zone means Dutch time.

    `2026-12-01` is that day at `default_time` in the Netherlands, `2026-12-01T13:30` or
    `2026-12-01 13:30` is 13:30 there, and `2026-12-01T12:30:00Z` or `…+01:00` is exactly
    that moment. Anything else, or a moment UTC cannot hold, raises `BadRequest` naming
    the field (`what` is "field" for a body, "query parameter" for a URL).
    """
    text = value.strip()
    try:
        if len(text) == 10:
            moment = from_local(date.fromisoformat(text), default_time)
        else:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                moment = from_local(parsed.date(), parsed.timetz().replace(tzinfo=None))
            else:
                moment = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest(
            f"{what} {field!r} must be a date like 2026-12-01 or a date-time like "
            f"2026-12-01T10:00 (Dutch time) or 2026-12-01T09:00:00Z, not {text[:40]!r}"
        ) from None
    try:
        return in_range(moment)
    except MomentError as exc:
        raise BadRequest(f"{what} {field!r} {exc}") from None


def to_dutch(moment: datetime) -> datetime:
    """A stored moment (aware, or naive UTC as SQLite returns it) on the Dutch clock."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(DUTCH)


def format_dutch_date(value: date | datetime) -> str:
    """A day in Dutch: "dinsdag 1 december 2026"; a moment is first put on the Dutch clock."""
    day = to_dutch(value).date() if isinstance(value, datetime) else value
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def format_dutch(moment: datetime) -> str:
    """A moment in Dutch time: "dinsdag 1 december 2026, 10:00"."""
    local = to_dutch(moment)
    return f"{format_dutch_date(local.date())}, {local:%H:%M}"


def parse_wire(value: str) -> datetime:
    """A timestamp of the wire (`2026-12-01T09:00:00.000Z`) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)

"""Moments a client may give: parsed, converted to UTC, and within the range kept anywhere.

Python's datetime holds years 1 to 9999; PostgreSQL's timestamptz far more, SQLite any text.
A moment near either end of Python's range cannot take its offset (`0001-01-01T00:00+14:00`
is in year 0 in UTC) nor later arithmetic, so a moment a client gives must lie in
[EARLIEST, LATEST): wide enough for any real meeting, ban or search, with centuries to spare
on both sides for the sums the server does with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class MomentError(ValueError):
    """The text is no ISO-8601 moment, or one outside [EARLIEST, LATEST)."""


def in_range(moment: datetime, assume: tzinfo = UTC) -> datetime:
    """`moment` (naive: in `assume`) as an aware UTC datetime; MomentError when out of range."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=assume)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise MomentError(out_of_range()) from None
    if not EARLIEST <= utc < LATEST:
        raise MomentError(out_of_range())
    return utc


def out_of_range() -> str:
    """The sentence that says which moments are accepted."""
    return f"must lie between {EARLIEST.year} and {LATEST.year - 1} (UTC)"

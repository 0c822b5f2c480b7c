"""Dutch time, pure: typed values read as Europe/Amsterdam, across both DST switches."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rooms.dutchtime import format_dutch, format_dutch_date, parse_dutch
from rooms.errors import BadRequest


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        ("2026-12-01", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),  # winter: UTC+1
        ("2026-07-01", datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),  # summer: UTC+2
        ("2026-03-28", datetime(2026, 3, 28, 9, 0, tzinfo=UTC)),  # the day before spring
        ("2026-03-29", datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),  # spring switch day
        ("2026-10-24", datetime(2026, 10, 24, 8, 0, tzinfo=UTC)),  # the day before autumn
        ("2026-10-25", datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),  # autumn switch day
    ],
)
def test_a_date_starts_at_ten_dutch_time(typed: str, utc: datetime) -> None:
    """A bare date is 10:00 in the Netherlands that day, whatever the season."""
    assert parse_dutch(typed, "date") == utc


def test_a_time_without_zone_is_dutch() -> None:
    """13:30 typed without a zone is 13:30 on the Dutch clock."""
    assert parse_dutch("2026-12-01T13:30", "date") == datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    assert parse_dutch("2026-06-01 13:30", "date") == datetime(2026, 6, 1, 11, 30, tzinfo=UTC)


def test_an_offset_or_z_is_taken_as_given() -> None:
    """With a zone the moment is exact."""
    assert parse_dutch("2026-12-01T09:00:00Z", "d") == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert parse_dutch("2026-12-01T13:00+05:00", "d") == datetime(2026, 12, 1, 8, tzinfo=UTC)


def test_the_skipped_spring_hour_moves_forward() -> None:
    """02:30 on 29 March 2026 does not exist in Amsterdam; it becomes 03:30 summer time."""
    moment = parse_dutch("2026-03-29T02:30", "date")
    assert moment == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert format_dutch(moment) == "zondag 29 maart 2026, 03:30"


def test_the_repeated_autumn_hour_is_the_first() -> None:
    """02:30 on 25 October 2026 happens twice; the summer-time one is meant."""
    assert parse_dutch("2026-10-25T02:30", "date") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "typed", ["morgen", "2026-13-01", "", "0001-01-01T00:00", "9999-12-31T23:59:59-14:00"]
)
def test_nonsense_and_unrepresentable_moments_are_refused(typed: str) -> None:
    """Bad input, or a moment UTC cannot hold, is a 400 naming the field, never a crash."""
    with pytest.raises(BadRequest, match="'date'"):
        parse_dutch(typed, "date")


@pytest.mark.parametrize(
    ("utc", "text"),
    [
        (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), "dinsdag 1 december 2026, 10:00"),
        (datetime(2026, 7, 1, 8, 0, tzinfo=UTC), "woensdag 1 juli 2026, 10:00"),
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "zondag 29 maart 2026, 01:59"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "zondag 29 maart 2026, 03:00"),
        (datetime(2026, 10, 24, 22, 30), "zondag 25 oktober 2026, 00:30"),  # naive = UTC
    ],
)
def test_format_in_dutch(utc: datetime, text: str) -> None:
    """A stored UTC moment reads in Dutch, on the Dutch clock."""
    assert format_dutch(utc) == text


def test_format_a_date_and_the_day_of_a_late_moment() -> None:
    """A date reads as is; 23:30 UTC on 30 November is already 1 December in Amsterdam."""
    assert format_dutch_date(date(2026, 12, 1)) == "dinsdag 1 december 2026"
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert format_dutch_date(late) == "dinsdag 1 december 2026"

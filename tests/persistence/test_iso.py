"""Wire timestamps: ISO-8601 in UTC, a Z, milliseconds truncated; the same for every zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from persistence.events import iso

moments = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 30))


@given(moments)
def test_iso_matches_the_reference_format(naive: datetime) -> None:
    expected = naive.strftime("%Y-%m-%dT%H:%M:%S.") + f"{naive.microsecond // 1000:03d}Z"
    assert iso(naive.replace(tzinfo=UTC)) == expected
    assert iso(naive) == expected  # naive columns hold UTC


@given(moments, st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_other_zones_are_written_in_utc(naive: datetime, minutes: int) -> None:
    moment = naive.replace(tzinfo=UTC)
    elsewhere = moment.astimezone(timezone(timedelta(minutes=minutes)))
    assert iso(elsewhere) == iso(moment)


def test_none_stays_none() -> None:
    assert iso(None) is None

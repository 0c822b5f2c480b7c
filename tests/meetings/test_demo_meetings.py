"""The demo's meetings lie around the day it is loaded: two held, one coming and open."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from persistence.db import Database
from persistence.meetings import listing
from persistence.migrate import migrate
from persistence.models import utcnow
from rooms.dutchtime import parse_wire, to_dutch
from web.actions.meetings import meeting_bodies
from web.cli import DEMO_DIR, load_file
from web.demo import months_from, place_meetings, placed_slug, render_community


def test_months_from_keeps_within_the_month() -> None:
    """Months back and ahead, across a year, on a day every month has."""
    assert months_from(date(2026, 12, 6), -1) == date(2026, 11, 6)
    assert months_from(date(2026, 12, 31), 1) == date(2027, 1, 28)
    assert months_from(date(2026, 1, 15), -2) == date(2025, 11, 15)


async def test_demo_meetings_around_the_load_day(tmp_path: Path) -> None:
    """Loaded today: the coming meeting is open with a few going, the last one has attendance."""
    today = utcnow().date()
    text = render_community((DEMO_DIR / "community.toml").read_text(encoding="utf-8"), today)
    path = tmp_path / "community.toml"
    path.write_text(text, encoding="utf-8")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    try:
        await migrate(db.engine)
        await load_file(db, path)
        await place_meetings(db, today)
        await place_meetings(db, today)
        async with db.read() as session:
            meetings = await meeting_bodies(session, await listing(session, utcnow()), 1)
    finally:
        await db.dispose()
    coming, last, before = meetings
    assert coming["slug"] == "werkplaats-zandgronden-deurne" and coming["status"] == "planned"
    assert coming["date"] > utcnow().isoformat() and coming["counts"]["going"] == 4
    assert coming["capacity"] == 25 and coming["registration_closes_at"] < coming["date"]
    assert coming["counts"]["maybe"] == 1
    assert last["date"] < utcnow().isoformat() and last["counts"]["going"] == 5
    assert last["title"].startswith("Werkplaats ") and "Dynamisch" in last["title"]
    assert before["date"] < last["date"]
    # A slug that names a day names the day the meeting is on (Dutch time).
    held = to_dutch(parse_wire(last["date"])).date()
    assert last["slug"] == f"bijeenkomst-{held.isoformat()}-tijnje"
    assert placed_slug("werkplaats-zandgronden-deurne", today) == "werkplaats-zandgronden-deurne"

"""The demo: the meeting held last month has a published verslag; the absent see it first."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from persistence import reports
from persistence.db import Database
from persistence.models import User
from tests.web.test_cli import run
from web.demo import demo_slug

TIJNJE = demo_slug("bijeenkomst-2026-11-28-tijnje")


async def test_demo_publishes_a_report_once(tmp_path: Path) -> None:
    """`werkplaats demo` publishes Tijnje's verslag; marieke (absent) has it as missed."""
    url = f"sqlite+aiosqlite:///{tmp_path}/demo.db"
    for _ in range(2):
        done = run(["demo"], url)
        assert done.returncode == 0, done.stderr
    db = Database(url)
    try:
        async with db.read() as session:
            report = await reports.published_report(session, TIJNJE)
            assert report is not None and report.revision == 1
            assert "<strong>dynamisch programmeren</strong>" in report.html
            marieke = (
                await session.execute(select(User.id).where(User.username == "marieke"))
            ).scalar_one()
            news = await reports.report_news(session, marieke, None)
            assert news[0].meeting_slug == TIJNJE and news[0].missed
    finally:
        await db.dispose()

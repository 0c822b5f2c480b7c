"""The report tables: a revision per write, and the published report as the domain value."""

from __future__ import annotations

from persistence import reports
from persistence.db import Database
from persistence.meetings import all_meetings
from persistence.models import utcnow


async def test_revisions_and_published_report(database: Database) -> None:
    """Two writes give revisions 1 and 2; only after publishing is it `published_report`."""
    async with database.write() as session:
        meeting = (await all_meetings(session))[0]
        await reports.write_revision(session, meeting, "een", "<p>een</p>", None, utcnow())
        row = await reports.write_revision(session, meeting, "twee", "<p>twee</p>", None, utcnow())
        assert row.revision == 2
        assert await reports.published_report(session, meeting.slug) is None
        await reports.mark_published(session, row, None, utcnow())
        found = await reports.published_report(session, meeting.slug)
        assert found is not None and found.body == "twee" and found.published_at is not None
        assert [r for r, _, _ in await reports.revisions(session, row)] == [2, 1]

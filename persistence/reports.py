"""Meeting reports (verslagen) and their revisions: reads and writes, never a commit.

Storage returns `rooms.verslag.Report` values; the edge encodes them. The search index of
published reports is kept by `persistence.search.reports` in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Meeting, MeetingReport, MeetingReportRevision, Registration, User
from rooms.verslag import Report, ReportNews, ReportStatus, news_order, report_title

# The catch-up lists at most this many reports.
NEWS_LIMIT = 10


async def report_row(
    session: AsyncSession, meeting_id: int, *, lock: bool = False
) -> MeetingReport | None:
    """The meeting's report row, locked for update when asked (PostgreSQL)."""
    query = select(MeetingReport).where(MeetingReport.meeting_id == meeting_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def _username(session: AsyncSession, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return (await session.execute(select(User.username).where(User.id == user_id))).scalar()


async def as_report(session: AsyncSession, meeting: Meeting, row: MeetingReport) -> Report:
    """The domain value of a report row."""
    return Report(
        meeting_slug=meeting.slug,
        meeting_title=meeting.title,
        title=report_title(meeting.title),
        body=row.body,
        html=row.html,
        status=ReportStatus(row.status),
        revision=row.revision,
        updated_at=row.updated_at,
        updated_by=await _username(session, row.updated_by_id),
        published_at=row.published_at,
        author_user_id=row.published_by_id or row.updated_by_id,
    )


async def report_of(session: AsyncSession, meeting: Meeting) -> Report | None:
    """The meeting's report, draft or published; None when none was written."""
    row = await report_row(session, meeting.id)
    return None if row is None else await as_report(session, meeting, row)


async def published_report(session: AsyncSession, meeting_slug: str) -> Report | None:
    """The meeting's report once published (None for a draft, no report, unknown meeting).

    `author_user_id` is the one who published it.
    """
    found = (
        await session.execute(
            select(Meeting, MeetingReport)
            .join(MeetingReport, MeetingReport.meeting_id == Meeting.id)
            .where(Meeting.slug == meeting_slug, MeetingReport.status == ReportStatus.PUBLISHED)
        )
    ).first()
    if found is None:
        return None
    return await as_report(session, found[0], found[1])


async def write_revision(
    session: AsyncSession,
    meeting: Meeting,
    body: str,
    html: str,
    user_id: int | None,
    now: datetime,
) -> MeetingReport:
    """Store `body` as the report's next revision (creating the report as a draft)."""
    row = await report_row(session, meeting.id, lock=True)
    if row is None:
        row = MeetingReport(meeting_id=meeting.id, status=ReportStatus.DRAFT, revision=0)
        session.add(row)
    row.revision += 1
    row.body, row.html = body, html
    row.updated_at, row.updated_by_id = now, user_id
    await session.flush()
    session.add(
        MeetingReportRevision(
            report_id=row.id,
            revision=row.revision,
            body=body,
            updated_at=now,
            updated_by_id=user_id,
        )
    )
    await session.flush()
    return row


async def mark_published(
    session: AsyncSession, row: MeetingReport, user_id: int | None, now: datetime
) -> None:
    """Set the report published (the first publication's time and publisher are kept)."""
    row.status = ReportStatus.PUBLISHED
    if row.published_at is None:
        row.published_at, row.published_by_id = now, user_id
    await session.flush()


async def revisions(
    session: AsyncSession, row: MeetingReport
) -> list[tuple[int, datetime, str | None]]:
    """(revision, updated_at, username) of every revision, newest first."""
    rows = await session.execute(
        select(MeetingReportRevision.revision, MeetingReportRevision.updated_at, User.username)
        .outerjoin(User, User.id == MeetingReportRevision.updated_by_id)
        .where(MeetingReportRevision.report_id == row.id)
        .order_by(MeetingReportRevision.revision.desc())
    )
    return [(r.revision, r.updated_at, r.username) for r in rows]


async def revision_body(session: AsyncSession, row: MeetingReport, revision: int) -> str | None:
    """The text of one revision."""
    return (
        await session.execute(
            select(MeetingReportRevision.body).where(
                MeetingReportRevision.report_id == row.id,
                MeetingReportRevision.revision == revision,
            )
        )
    ).scalar()


async def report_news(
    session: AsyncSession, user_id: int, since: datetime | None
) -> list[ReportNews]:
    """Reports published since `since` (all when None), missed meetings' first.

    Missed: the member registered as going and the attendance says they were not there.
    """
    missed = (
        select(Registration.id)
        .where(
            Registration.meeting_id == Meeting.id,
            Registration.user_id == user_id,
            Registration.status == "going",
            Registration.attended.is_(False),
        )
        .exists()
    )
    query = (
        select(Meeting.slug, Meeting.title, Meeting.starts_at, MeetingReport.published_at, missed)
        .join(MeetingReport, MeetingReport.meeting_id == Meeting.id)
        .where(MeetingReport.status == ReportStatus.PUBLISHED)
        .order_by(MeetingReport.published_at.desc())
        .limit(NEWS_LIMIT)
    )
    if since is not None:
        query = query.where(MeetingReport.published_at >= since)
    rows = (await session.execute(query)).all()
    # A published report always has its publication time (mark_published sets it).
    found = [
        ReportNews(r[0], r[2], report_title(r[1]), cast(datetime, r[3]), bool(r[4])) for r in rows
    ]
    return news_order(found)

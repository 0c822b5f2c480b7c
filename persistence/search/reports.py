"""Published meeting reports in the Dutch search: their index and their hits.

A report is indexed while it is published, with the same Dutch stemming as messages:
PostgreSQL computes `meeting_reports.search_vector` itself (NULL for a draft); on SQLite
the write paths call `on_report_changed` in their transaction. Every participant may read
every meeting, so a published report needs no permission filter. Reports are few: they
come, at most REPORT_HITS of them, on the first page of a search, before the messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Meeting, MeetingReport, Room
from persistence.search import postgres, sqlite
from persistence.search.dutch import stem
from persistence.search.query import Query
from persistence.search.snippet import build_snippet
from rooms.markdown import plain_text
from rooms.verslag import ReportStatus, report_title

REPORT_HITS = 5


@dataclass(frozen=True, slots=True)
class ReportHit:
    meeting: str
    title: str
    published_at: datetime | None
    snippet: str


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """The search's filters that apply to a report: its meeting's room and publication time."""

    room_id: int | None = None
    after: datetime | None = None
    before: datetime | None = None
    recent: bool = False


async def on_report_changed(session: AsyncSession, row: MeetingReport) -> None:
    """Index a published report's text, or drop a draft's (SQLite; PostgreSQL does it)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    if row.status == ReportStatus.PUBLISHED:
        await sqlite.put(session, [(row.id, row.body)], sqlite.REPORT_TABLE)
    else:
        await sqlite.remove(session, [row.id], sqlite.REPORT_TABLE)


async def search_reports(
    session: AsyncSession, query: Query, filters: ReportFilters
) -> list[ReportHit]:
    """The published reports the query matches, best (or newest) first."""
    is_sqlite = session.get_bind().dialect.name == "sqlite"
    stmt = select(Meeting.slug, Meeting.title, MeetingReport.html, MeetingReport.published_at)
    score: ColumnElement[Any]
    if is_sqlite:
        stmt = stmt.select_from(sqlite.report_fts).join(
            MeetingReport, MeetingReport.id == sqlite.report_fts.c.rowid
        )
        match, score = sqlite.match(query, sqlite.REPORT_TABLE), sqlite.score(sqlite.REPORT_TABLE)
        order: Any = score.asc()
    else:
        stmt = stmt.select_from(MeetingReport)
        match = postgres.match(query, postgres.REPORT_VECTOR)
        score = postgres.score(query, postgres.REPORT_VECTOR)
        order = score.desc()
    stmt = stmt.join(Meeting, Meeting.id == MeetingReport.meeting_id).where(
        match, MeetingReport.status == ReportStatus.PUBLISHED
    )
    if filters.room_id is not None:
        own = select(Room.meeting_id).where(Room.id == filters.room_id).scalar_subquery()
        stmt = stmt.where(MeetingReport.meeting_id == own)
    if filters.after is not None:
        stmt = stmt.where(MeetingReport.published_at >= filters.after)
    if filters.before is not None:
        stmt = stmt.where(MeetingReport.published_at < filters.before)
    if filters.recent:
        order = MeetingReport.published_at.desc()
    rows = (await session.execute(stmt.order_by(order, Meeting.slug).limit(REPORT_HITS))).all()
    return [
        ReportHit(
            r.slug,
            report_title(r.title),
            r.published_at,
            build_snippet(plain_text(r.html), query, stem),
        )
        for r in rows
    ]

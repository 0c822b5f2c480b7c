"""The verslag of a meeting: its limits, statuses and who may see a draft. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rooms.dutchtime import MONTHS, to_dutch
from rooms.errors import TooLarge

# The contract's limit on a report's Markdown, in characters.
MAX_BODY_CHARS = 200_000


class ReportStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class Report:
    """A report as readers and the publications see it (the published text)."""

    meeting_slug: str
    meeting_title: str
    title: str
    body: str
    html: str
    status: ReportStatus
    revision: int
    updated_at: datetime
    updated_by: str | None
    published_at: datetime | None
    author_user_id: int | None

    @property
    def published(self) -> bool:
        return self.status is ReportStatus.PUBLISHED


def report_title(meeting_title: str) -> str:
    """The title a report goes by in events, search and publications."""
    return f"Verslag: {meeting_title}"


def check_body(body: str) -> str:
    """The report's Markdown, refused with `too_large` over the contract's limit."""
    if len(body) > MAX_BODY_CHARS:
        raise TooLarge(f"a report is at most {MAX_BODY_CHARS} characters")
    return body


def missed_notice(meeting_start: datetime) -> str:
    """What the catch-up tells someone who registered as going but was not there."""
    day = to_dutch(meeting_start)
    return f"Je was er niet op {day.day} {MONTHS[day.month - 1]}: lees het verslag"


@dataclass(frozen=True, slots=True)
class ReportNews:
    """A published report as the catch-up lists it; `missed` when the member was absent."""

    meeting_slug: str
    meeting_starts_at: datetime
    title: str
    published_at: datetime
    missed: bool


def news_order(found: list[ReportNews]) -> list[ReportNews]:
    """Missed meetings' reports first, then the newest."""
    newest = sorted(found, key=lambda r: r.published_at, reverse=True)
    return sorted(newest, key=lambda r: not r.missed)

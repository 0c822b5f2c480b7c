"""The search itself: one SQL statement per page, permission filter and text match inside it.

Relevance orders by the backend's score (PostgreSQL `ts_rank_cd`, SQLite `bm25`), then by
message id, newest first; `recent` orders by creation time, then id. The cursor carries
the last hit's sort key and id (see cursor.py). On PostgreSQL a query expected to match
many messages is searched in spans of ids, newest first (below, and docs/search.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.authors import AuthorRow
from persistence.models import Meeting, Message, Room, Theme, User, utcnow
from persistence.search import postgres, sqlite
from persistence.search.cursor import Cursor, CursorError, decode, encode, fingerprint
from persistence.search.dutch import stem
from persistence.search.glossary import matched_via
from persistence.search.query import Query
from persistence.search.scope import Filters, conditions
from persistence.search.snippet import build_snippet

# PostgreSQL looks for a page of a common query in spans of ids, newest first. Ranking
# every match costs a heap visit each (a million messages: 12 000 matches of a common
# word, 150 ms and more); a span is sized to hold about SPAN_MATCHES. Ids grow with time,
# so a span is a stretch of time: hits are ordered by span, newest first, then by
# relevance (or time) within it. Spans cost a GIN lookup each, so a query the planner
# expects to match at most SPANS_ABOVE_MATCHES messages ranks every match at once.
# SPAN_ARMS spans are searched per statement.
SPAN_MATCHES = 1000
MIN_SPAN_IDS = 1 << 12
MAX_SPAN_IDS = 1 << 20
SPAN_ARMS = 8
SPANS_ABOVE_MATCHES = 4000
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class Sort(StrEnum):
    RELEVANCE = "relevance"
    RECENT = "recent"


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: Query
    filters: Filters
    sort: Sort = Sort.RELEVANCE
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    room: str
    seq: int
    message_id: int
    author: AuthorRow
    created_at: datetime
    snippet: str
    # The glossary entries (their terms) that found this message where the typed words
    # did not: the client says "gevonden via NPLG".
    matched_via: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    hits: list[Hit]
    next_cursor: str | None


def _micros(dt: datetime) -> int:
    return (dt - EPOCH) // MICROSECOND


# The creation times a recent-first cursor may name, in microseconds since the epoch.
_MIN_MICROS = _micros(datetime.min.replace(tzinfo=UTC))
_MAX_MICROS = _micros(datetime.max.replace(tzinfo=UTC))


def _key_value(cur: Cursor, sort: Sort) -> Any:
    """The cursor's sort key as the statement compares it; CursorError if no hit has it."""
    if sort is Sort.RECENT:
        if type(cur.key) is not int or not _MIN_MICROS <= cur.key <= _MAX_MICROS:
            raise CursorError("the cursor is not valid")
        return EPOCH + cur.key * MICROSECOND
    if type(cur.key) is not float:
        raise CursorError("the cursor is not valid")
    return cur.key


def _order_and_after(
    key: ColumnElement[Any], ascending: bool, after: Any, after_id: int | None
) -> tuple[list[Any], list[ColumnElement[bool]]]:
    """ORDER BY key (then id, newest first) and the condition "strictly after the cursor"."""
    order = [key.asc() if ascending else key.desc(), Message.id.desc()]
    if after_id is None:
        return order, []
    beyond = key > after if ascending else key < after
    return order, [or_(beyond, and_(key == after, Message.id < after_id))]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A page's statement, and the span of ids to go on from when it comes back short."""

    stmt: Select[Any]
    continue_at: int | None


def _statement(
    dialect: str,
    req: SearchRequest,
    user_id: int,
    now: datetime,
    cur: Cursor | None,
    span: int,
    top_id: int,
) -> _Plan:
    """The page's statement; in spans of `span` ids (PostgreSQL) unless span is 0."""
    where = _where(dialect, req, user_id, now)
    if dialect == "sqlite":
        score, ascending = sqlite.score(), True
    else:
        score, ascending = postgres.score(req.query), False
    key: ColumnElement[Any] = score
    if req.sort is Sort.RECENT:
        key, ascending = Message.__table__.c.created_at, False
    after_id = None if cur is None or cur.bucket is not None else cur.message_id
    value = None if cur is None or after_id is None else _key_value(cur, req.sort)
    order, after = _order_and_after(key, ascending, value, after_id)
    # The page is chosen over narrow rows (id and key): the sort of every match then
    # carries no message text; the text, room and author are joined for the page alone.
    page = select(Message.id.label("id"), key.label("sort_key"))
    continue_at = None
    if dialect == "sqlite":
        page = page.select_from(sqlite.fts).join(Message, Message.id == sqlite.fts.c.rowid)
    if not span:
        inner = page.where(*where, *after).order_by(*order).limit(req.limit + 1)
    else:
        start = top_id // span
        if cur is not None:
            start = cur.bucket if cur.bucket is not None else cur.message_id // span
        arms = [
            page.add_columns(literal(b).label("bucket"))
            .where(*where, Message.id >= b * span, Message.id < (b + 1) * span)
            .where(*(after if b == start else ()))
            .order_by(*order)
            .limit(req.limit + 1)
            for b in range(start, max(start - SPAN_ARMS, -1), -1)
        ]
        if start >= SPAN_ARMS:
            continue_at = start - SPAN_ARMS
        # Rows come out arm after arm (Append runs its children in order, parallel append
        # is off, see postgres.tune), so LIMIT stops before the older spans are searched.
        inner = select(union_all(*arms).subquery("arms")).limit(req.limit + 1)
    sub = inner.subquery("page")
    sort_key = sub.c.sort_key.asc() if ascending else sub.c.sort_key.desc()
    bucket_order = [sub.c.bucket.desc()] if span else []
    stmt = (
        select(
            sub.c.id,
            sub.c.sort_key,
            Message.seq,
            Message.created_at,
            Message.body,
            Room.slug,
            User.username,
            User.display_name,
            User.organisation,
            User.layer,
        )
        .select_from(sub)
        .join(Message, Message.id == sub.c.id)
        .join(Room, Room.id == Message.room_id)
        .join(User, User.id == Message.author_id)
        .order_by(*bucket_order, sort_key, sub.c.id.desc())
    )
    return _Plan(stmt, continue_at)


def _where(dialect: str, req: SearchRequest, user_id: int, now: datetime) -> list[Any]:
    where = conditions(user_id, now, req.filters)
    where.append(sqlite.match(req.query) if dialect == "sqlite" else postgres.match(req.query))
    return where


def span_ids(estimate: int, top_id: int) -> int:
    """A power of two of ids holding about SPAN_MATCHES matches, were they spread evenly."""
    want = top_id * SPAN_MATCHES // max(estimate, 1)
    size = MIN_SPAN_IDS
    while size < want and size < MAX_SPAN_IDS:
        size *= 2
    return size


async def _span(session: AsyncSession, req: SearchRequest) -> tuple[int, int]:
    """The span size for a new PostgreSQL search (0: rank every match), and the top id."""
    estimate = await postgres.estimated_matches(session, req.query)
    if estimate <= SPANS_ABOVE_MATCHES:
        return 0, 0
    top_id = (await session.execute(select(func.max(Message.id)))).scalar_one() or 0
    return span_ids(estimate, top_id), top_id


async def search(
    session: AsyncSession, user_id: int, req: SearchRequest, now: datetime | None = None
) -> Page:
    """One page of hits the user may read; raises cursor.CursorError for a foreign cursor.

    On PostgreSQL a page may come back short (even empty) with a `next_cursor` when
    the search has not yet looked at older messages: clients follow the cursor while
    there is one.
    """
    dialect = session.get_bind().dialect.name
    print_ = fingerprint(req.query.describe(), req.filters.describe(), req.sort, str(user_id))
    cur = decode(req.cursor, print_) if req.cursor else None
    now = now or utcnow()
    span, top_id = 0, 0
    if dialect != "sqlite":
        await postgres.tune(session)
        # Decided on the first page, kept by the cursor: every page is cut the same way.
        if cur is None:
            span, top_id = await _span(session, req)
        else:
            span = cur.span
    plan = _statement(dialect, req, user_id, now, cur, span, top_id)
    rows = (await session.execute(plan.stmt)).all()
    snippets = [build_snippet(r.body, req.query, stem) for r in rows[: req.limit]]
    hits = [
        Hit(
            room=r.slug,
            seq=r.seq,
            message_id=r.id,
            author=AuthorRow(r.username, r.display_name, r.organisation, r.layer),
            created_at=r.created_at,
            snippet=snippet,
            matched_via=tuple(matched_via(r.body, req.query)),
        )
        for r, snippet in zip(rows, snippets, strict=False)
    ]
    next_cursor = None
    if len(rows) > req.limit:
        last = rows[req.limit - 1]
        key = _micros(last.created_at) if req.sort is Sort.RECENT else float(last.sort_key)
        next_cursor = encode(Cursor(key, last.id, span=span), print_)
    elif plan.continue_at is not None:
        next_cursor = encode(Cursor(0, 0, plan.continue_at, span=span), print_)
    return Page(hits, next_cursor)


@dataclass(frozen=True, slots=True)
class MeetingRef:
    slug: str
    title: str
    starts_at: datetime


async def last_meeting(session: AsyncSession, slug: str, now: datetime) -> MeetingRef | None:
    """The meeting named by `slug`, or else the latest meeting (begun by now) of theme `slug`.

    None for a theme that has had no meeting yet; LookupError when `slug` names neither.
    """
    meeting = (
        await session.execute(select(Meeting).where(Meeting.slug == slug))
    ).scalar_one_or_none()
    if meeting is None:
        meeting = (
            await session.execute(
                select(Meeting)
                .join(Theme, Theme.id == Meeting.theme_id)
                .where(Theme.slug == slug, Meeting.starts_at <= now)
                .order_by(Meeting.starts_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    if meeting is None:
        theme = (await session.execute(select(Theme.id).where(Theme.slug == slug))).first()
        if theme is None:
            raise LookupError(f"no meeting or theme {slug!r}")
        return None
    return MeetingRef(meeting.slug, meeting.title, meeting.starts_at)

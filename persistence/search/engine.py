"""The search itself: one SQL statement per page, permission filter and text match inside it.

Relevance orders by the backend's score (PostgreSQL `ts_rank_cd`, SQLite `bm25`), then by
message id, newest first; `recent` orders by creation time, then id. The cursor carries
the last hit's sort key and id (see cursor.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import events  # a module: events imports the index hooks of this package
from persistence.models import Meeting, Message, Room, Theme, User, utcnow
from persistence.search import postgres, sqlite
from persistence.search.cursor import Cursor, decode, encode, fingerprint
from persistence.search.dutch import stem
from persistence.search.query import Query
from persistence.search.scope import Filters, conditions
from persistence.search.snippet import build_snippet

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
    author: dict[str, Any]
    created_at: datetime
    snippet: str

    def wire(self) -> dict[str, Any]:
        return {
            "room": self.room,
            "seq": self.seq,
            "message_id": self.message_id,
            "author": self.author,
            "created_at": events.iso(self.created_at),
            "snippet": self.snippet,
        }


@dataclass(frozen=True, slots=True)
class Page:
    hits: list[Hit]
    next_cursor: str | None


def _micros(dt: datetime) -> int:
    return (dt - EPOCH) // MICROSECOND


def _order_and_after(
    key: ColumnElement[Any], ascending: bool, after: Any, after_id: int | None
) -> tuple[list[Any], list[ColumnElement[bool]]]:
    """ORDER BY key (then id, newest first) and the condition "strictly after the cursor"."""
    order = [key.asc() if ascending else key.desc(), Message.id.desc()]
    if after_id is None:
        return order, []
    beyond = key > after if ascending else key < after
    return order, [or_(beyond, and_(key == after, Message.id < after_id))]


def _statement(
    dialect: str, req: SearchRequest, user_id: int, now: datetime, cur: Cursor | None
) -> Select[Any]:
    where = conditions(user_id, now, req.filters)
    if dialect == "sqlite":
        where.append(sqlite.match(req.query))
        score, ascending = sqlite.score(), True
    else:
        where.append(postgres.match(req.query))
        score, ascending = postgres.score(req.query), False
    key: ColumnElement[Any] = score
    if req.sort is Sort.RECENT:
        key, ascending = Message.__table__.c.created_at, False
    value: Any = None if cur is None else cur.key
    if cur is not None and req.sort is Sort.RECENT:
        value = EPOCH + int(cur.key) * MICROSECOND
    order, after = _order_and_after(key, ascending, value, cur.message_id if cur else None)
    # The page is chosen over narrow rows (id and key): the sort of every match then
    # carries no message text; the text, room and author are joined for the page alone.
    page = select(Message.id.label("id"), key.label("sort_key"))
    if dialect == "sqlite":
        page = page.select_from(sqlite.fts).join(Message, Message.id == sqlite.fts.c.rowid)
    inner = page.where(*where, *after).order_by(*order).limit(req.limit + 1).subquery("page")
    sort_key = inner.c.sort_key.asc() if ascending else inner.c.sort_key.desc()
    return (
        select(
            inner.c.id,
            inner.c.sort_key,
            Message.seq,
            Message.created_at,
            Message.body,
            Room.slug,
            User.username,
            User.display_name,
            User.organisation,
            User.layer,
        )
        .select_from(inner)
        .join(Message, Message.id == inner.c.id)
        .join(Room, Room.id == Message.room_id)
        .join(User, User.id == Message.author_id)
        .order_by(sort_key, inner.c.id.desc())
    )


async def search(
    session: AsyncSession, user_id: int, req: SearchRequest, now: datetime | None = None
) -> Page:
    """One page of hits the user may read; raises cursor.CursorError for a foreign cursor."""
    dialect = session.get_bind().dialect.name
    print_ = fingerprint(req.query.describe(), req.filters.describe(), req.sort, str(user_id))
    cur = decode(req.cursor, print_) if req.cursor else None
    stmt = _statement(dialect, req, user_id, now or utcnow(), cur)
    if dialect != "sqlite":
        await postgres.tune(session)
    rows = (await session.execute(stmt)).all()
    snippets = [build_snippet(r.body, req.query, stem) for r in rows[: req.limit]]
    hits = [
        Hit(
            room=r.slug,
            seq=r.seq,
            message_id=r.id,
            author={
                "username": r.username,
                "display_name": r.display_name,
                "organisation": r.organisation,
                "layer": r.layer,
            },
            created_at=r.created_at,
            snippet=snippet,
        )
        for r, snippet in zip(rows, snippets, strict=False)
    ]
    next_cursor = None
    if len(rows) > req.limit:
        last = rows[req.limit - 1]
        key = _micros(last.created_at) if req.sort is Sort.RECENT else float(last.sort_key)
        next_cursor = encode(Cursor(key, last.id), print_)
    return Page(hits, next_cursor)


@dataclass(frozen=True, slots=True)
class MeetingRef:
    slug: str
    title: str
    starts_at: datetime

    def wire(self) -> dict[str, Any]:
        return {"slug": self.slug, "title": self.title, "starts_at": events.iso(self.starts_at)}


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

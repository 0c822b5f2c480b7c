"""Files found by search: the words of a file's name (and of a text file's content) matched
against the query, on both databases with the same SQL.

A file's `text` column holds its words as stems, space-separated (`dutch.index_text`,
what SQLite's message index holds too), written once at upload. A clause matches a file
when its stem (a phrase: its stems in order; a prefix: the start of a stem) stands between
spaces in that text. Files are few beside messages and a search looks only at those of
visible messages in rooms the caller may read, so a scan with LIKE serves; no second
full-text index to keep in step. Stems are letters and digits only, so nothing in them
needs escaping for LIKE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, literal, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Message, Room, StoredFile
from persistence.search.dutch import prefix_roots, stem
from persistence.search.query import Clause, Either, Phrase, Query, Word
from persistence.search.scope import Filters, conditions
from persistence.search.snippet import build_snippet


@dataclass(frozen=True, slots=True)
class FileHit:
    room: str
    message_id: int
    file_id: int
    name: str
    snippet: str


def _spaced() -> ColumnElement[str]:
    return literal(" ").concat(StoredFile.text).concat(" ")


def _clause(c: Clause) -> ColumnElement[bool]:
    if isinstance(c, Either):
        return or_(*(_clause(o) for o in c.options))
    text = _spaced()
    if isinstance(c, Phrase):
        return text.like(f"% {' '.join(stem(w) for w in c.words)} %")
    if isinstance(c, Word) and c.prefix:
        return or_(*(text.like(f"% {root}%") for root in prefix_roots(c.text)))
    return text.like(f"% {stem(c.text)} %")


def match(query: Query) -> ColumnElement[bool]:
    """Every positive clause and none of the exclusions."""
    return and_(*(_clause(c) for c in query.include), *(not_(_clause(c)) for c in query.exclude))


class FileCursorError(ValueError):
    """A `file_cursor` this module did not write."""


_CURSOR = re.compile(r"f(\d{1,18})\.(\d{1,18})")


@dataclass(frozen=True, slots=True)
class FilePage:
    hits: list[FileHit]
    # Where the next page starts (after this page's last hit); None when there is none.
    next_cursor: str | None


def read_cursor(raw: str) -> tuple[int, int]:
    """The (message id, file id) of the last hit a `file_cursor` names."""
    m = _CURSOR.fullmatch(raw)
    if m is None:
        raise FileCursorError("not a cursor of file hits")
    return int(m.group(1)), int(m.group(2))


async def search_files(
    session: AsyncSession,
    user_id: int,
    query: Query,
    filters: Filters,
    now: datetime,
    limit: int,
    cursor: str | None = None,
) -> FilePage:
    """Files of visible messages the user may read that match, newest message first; at
    most `limit`, after the hit `cursor` names (keyset: the order is by message, then file,
    so a page is the same however many files are added to older messages meanwhile)."""
    stmt = (
        select(StoredFile.id, StoredFile.name, Message.id.label("message_id"), Room.slug)
        .join(Message, Message.id == StoredFile.message_id)
        .join(Room, Room.id == Message.room_id)
        .where(*conditions(user_id, now, filters), match(query))
    )
    if cursor is not None:
        message_id, file_id = read_cursor(cursor)
        stmt = stmt.where(
            or_(
                Message.id < message_id,
                and_(Message.id == message_id, StoredFile.id > file_id),
            )
        )
    stmt = stmt.order_by(Message.id.desc(), StoredFile.id).limit(limit + 1)
    rows = (await session.execute(stmt)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    hits = [
        FileHit(r.slug, r.message_id, r.id, r.name, build_snippet(r.name, query, stem))
        for r in rows
    ]
    last = hits[-1] if hits else None
    return FilePage(hits, f"f{last.message_id}.{last.file_id}" if more and last else None)

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


async def search_files(
    session: AsyncSession, user_id: int, query: Query, filters: Filters, now: datetime, limit: int
) -> list[FileHit]:
    """Files of visible messages the user may read that match, newest message first."""
    stmt = (
        select(StoredFile.id, StoredFile.name, Message.id.label("message_id"), Room.slug)
        .join(Message, Message.id == StoredFile.message_id)
        .join(Room, Room.id == Message.room_id)
        .where(*conditions(user_id, now, filters), match(query))
        .order_by(Message.id.desc(), StoredFile.id)
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    return [
        FileHit(r.slug, r.message_id, r.id, r.name, build_snippet(r.name, query, stem))
        for r in rows
    ]

"""All full-text SQL for SQLite: an FTS5 table of Dutch stems kept by the application.

`message_search(rowid = messages.id, terms, parts)` holds each visible message's words
folded and stemmed in Python (Snowball `dutch_porter`, as PostgreSQL's `dutch`) in
`terms`, and the stems of its compounds' parts (`compounds.parts_text`) in `parts`; its
tokenizer (`unicode61 remove_diacritics 2`) then meets the stems of the query exactly.
A query matches either column; bm25 weighs `parts` at PARTS_WEIGHT, so an exact match
ranks above a part match. Stop words are indexed too: phrases stay exact, and a query of
stop words only can still match.
The write paths call `index.on_message_changed` in their own transaction, so the index
commits or rolls back with the message; hidden messages have no row at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, bindparam, func, literal_column, table, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import column

from persistence.search.compounds import index_fields
from persistence.search.dutch import index_text, prefix_roots, stem
from persistence.search.query import Clause, Either, Phrase, Query, Word

TABLE = "message_search"
CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
    "terms, parts, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
)
fts = table(TABLE, column("rowid"), column("terms"), column("parts"))
# bm25's weight of a compound's part against a whole word (1.0): exact matches rank first.
PARTS_WEIGHT = 0.2
# Published meeting reports (rowid = meeting_reports.id), the same way (migration 0008).
REPORT_TABLE = "report_search"
report_fts = table(REPORT_TABLE, column("rowid"), column("terms"))


def _quoted(term: str) -> str:
    # Terms are letters and digits only (dutch.WORD_RE); the quotes keep FTS5 from reading
    # a word such as NOT, OR or NEAR as an operator.
    return f'"{term}"'


def _clause(c: Clause) -> str:
    if isinstance(c, Either):
        return "(" + " OR ".join(_clause(o) for o in c.options) + ")"
    if isinstance(c, Phrase):
        return _quoted(" ".join(stem(w) for w in c.words))
    if isinstance(c, Word) and c.prefix:
        # Words starting with the letters, not compounds with a part that does.
        return "terms : (" + " OR ".join(_quoted(r) + "*" for r in prefix_roots(c.text)) + ")"
    return _quoted(stem(c.text))


def match_expression(query: Query) -> str:
    """The FTS5 MATCH text for a query: every positive clause AND-ed, exclusions NOT-ed."""
    positive = " AND ".join(_clause(c) for c in query.include)
    if not query.exclude:
        return positive
    return f"({positive}) NOT ({' OR '.join(_clause(c) for c in query.exclude)})"


def match(query: Query, table_name: str = TABLE) -> ColumnElement[bool]:
    return literal_column(table_name).op("MATCH")(bindparam("fts_query", match_expression(query)))


def score(table_name: str = TABLE) -> ColumnElement[float]:
    """bm25: lower is better (it is negative), so relevance sorts ascending."""
    if table_name == TABLE:
        return func.bm25(literal_column(table_name), 1.0, PARTS_WEIGHT)
    return func.bm25(literal_column(table_name))


async def remove(session: AsyncSession, ids: Iterable[int], table_name: str = TABLE) -> None:
    """Drop rows from an index (messages hidden, retracted, purged; reports unpublished)."""
    params = [{"id": i} for i in ids]
    if params:
        await session.execute(
            text(f"DELETE FROM {table_name} WHERE rowid = :id"),  # noqa: S608
            params,
        )


async def put(
    session: AsyncSession, rows: Sequence[tuple[int, str]], table_name: str = TABLE
) -> None:
    """Index (id, text) pairs, replacing what was indexed for them (the messages' index
    with their compounds' parts, the reports' without)."""
    if not rows:
        return
    await remove(session, (mid for mid, _ in rows), table_name)
    if table_name == TABLE:
        params = []
        for mid, body in rows:
            terms, parts = index_fields(body)
            params.append({"id": mid, "terms": terms, "parts": parts})
        await session.execute(
            text(f"INSERT INTO {TABLE} (rowid, terms, parts) VALUES (:id, :terms, :parts)"),  # noqa: S608
            params,
        )
        return
    await session.execute(
        text(f"INSERT INTO {table_name} (rowid, terms) VALUES (:id, :terms)"),  # noqa: S608
        [{"id": mid, "terms": index_text(body)} for mid, body in rows],
    )


async def size_bytes(session: AsyncSession) -> int:
    """Pages of the FTS5 shadow tables (needs the dbstat virtual table)."""
    result = await session.execute(
        text("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE :p"),
        {"p": f"{TABLE}%"},
    )
    return int(result.scalar_one())

"""All full-text SQL for PostgreSQL: a generated `tsvector` column under a GIN index.

Migration 0002 creates the text search configuration `werkplaats_nl`: PostgreSQL's
`dutch` with `unaccent` before a Snowball Dutch stemmer that has no stop word list (stop
words are indexed so phrases stay exact and "één" still finds "een"; queries leave them
out, see `query.py`). `messages.search_vector` is `to_tsvector('werkplaats_nl', body)`,
or NULL for a hidden message, computed by the database on every insert and update. The
body goes in with < > & as spaces: a message is plain text, but PostgreSQL's parser would
read `<...>` as an HTML tag and `&...;` as an entity and leave their words out.

Compounds are split in Python, as on SQLite (`compounds.parts_text`): every writer of a
message's body stores the stems of its parts in `messages.search_parts` (migration 0014).
The searched vector is the words (weight D) followed by the parts (weight C), one GIN
index on that expression; `ts_rank_cd` weighs C at PARTS_WEIGHT, so an exact match ranks
above a part match. A hidden message's vector is NULL, parts or not.

Snippets are not made here with ts_headline (which also drops tags, and text between
<script> tags, from its output) but in Python by snippet.py for both backends, with the
same Snowball algorithm PostgreSQL's dutch dictionary runs.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Float

from persistence.models import Message
from persistence.search.dutch import prefix_roots
from persistence.search.query import Clause, Either, Phrase, Query, Word

CONFIG_NAME = "werkplaats_nl"
CONFIG: ColumnElement[str] = literal_column(f"'{CONFIG_NAME}'::regconfig")
SIMPLE: ColumnElement[str] = literal_column("'simple'::regconfig")
# The expression of the index ix_messages_search_terms (migration 0014), written the same
# way so that the planner uses it.
VECTOR_SQL = (
    "(messages.search_vector || setweight(to_tsvector('simple'::regconfig,"
    " coalesce(messages.search_parts, ''::text)), 'C'::\"char\"))"
)
VECTOR: ColumnElement[str] = literal_column(VECTOR_SQL)
INDEX_NAME = "ix_messages_search_terms"
# ts_rank_cd's weights of the labels {D, C, B, A}: whole words D, compound parts C.
PARTS_WEIGHT = 0.2
WEIGHTS: ColumnElement[Any] = literal_column(f"'{{1.0, {PARTS_WEIGHT}, 0.4, 1.0}}'::float4[]")
# Published meeting reports: the same configuration over the Markdown (migration 0008).
REPORT_VECTOR: ColumnElement[str] = literal_column("meeting_reports.search_vector")


def _clause(c: Clause) -> ColumnElement[str]:
    if isinstance(c, Either):
        return reduce(func.tsquery_or, [_clause(o) for o in c.options])
    if isinstance(c, Phrase):
        return func.phraseto_tsquery(CONFIG, " ".join(c.words))
    if isinstance(c, Word) and c.prefix:
        # Stems made in Python (dutch_porter: the algorithm of PostgreSQL's dutch), looked
        # up as they are ('simple'); each prefix costs a scan of the GIN index, so the
        # typed letters are added only when the stem does not cover them. Quoted as tsquery
        # literals: they are letters and digits only (dutch.WORD_RE). Weight D: words
        # starting with the letters, not compounds with a part that does.
        roots = [func.to_tsquery(SIMPLE, f"'{r}':*D") for r in prefix_roots(c.text)]
        return reduce(func.tsquery_or, roots)
    return func.plainto_tsquery(CONFIG, c.text)


def tsquery(query: Query) -> ColumnElement[str]:
    """The tsquery of the whole query: positive clauses AND-ed, exclusions AND-NOT-ed."""
    parts = [_clause(c) for c in query.include]
    parts += [func.tsquery_not(_clause(c)) for c in query.exclude]
    return reduce(func.tsquery_and, parts)


def match(query: Query, vector: ColumnElement[str] = VECTOR) -> ColumnElement[bool]:
    return vector.op("@@")(tsquery(query))


def score(query: Query, vector: ColumnElement[str] = VECTOR) -> ColumnElement[float]:
    """Cover density with length normalisation; higher is better."""
    return func.ts_rank_cd(WEIGHTS, vector, tsquery(query), 1).cast(Float)


async def tune(session: AsyncSession) -> None:
    """Planner settings for this transaction only, measured with bench/search_bench.py.

    A search ranks a few thousand rows in milliseconds: starting parallel workers (several
    ms) and JIT-compiling the plan (tens of ms, triggered by the cost estimates of large
    tables) cost more than they save.
    """
    await session.execute(
        text(
            "SELECT set_config('max_parallel_workers_per_gather', '0', true),"
            " set_config('jit', 'off', true)"
        )
    )


async def estimated_matches(session: AsyncSession, query: Query) -> int:
    """The planner's estimate of the messages the text matches: one EXPLAIN, no rows read.

    Only the text match is estimated: its parameters are plain strings, which the EXPLAIN
    (run as driver SQL, as SQLAlchemy has no EXPLAIN construct) can take as they are.
    """
    stmt: Select[Any] = select(literal_column("1")).select_from(Message.__table__)
    compiled = stmt.where(match(query)).compile(dialect=session.get_bind().dialect)
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    conn = await session.connection()
    result = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", params)
    plan = result.scalar_one()
    data = orjson.loads(plan) if isinstance(plan, str | bytes) else plan
    return int(data[0]["Plan"]["Plan Rows"])

"""All full-text SQL for PostgreSQL: a generated `tsvector` column under a GIN index.

Migration 0002 creates the text search configuration `werkplaats_nl`: PostgreSQL's
`dutch` with `unaccent` before a Snowball Dutch stemmer that has no stop word list (stop
words are indexed so phrases stay exact and "één" still finds "een"; queries leave them
out, see `query.py`). `messages.search_vector` is `to_tsvector('werkplaats_nl', body)`,
or NULL for a hidden message, computed by the database on every insert and update:
the index is always in step with the rows, whoever writes them. The body goes in with
< > & as spaces: a message is plain text, but PostgreSQL's parser would read `<...>` as
an HTML tag and `&...;` as an entity and leave their words out.

Snippets are not made here with ts_headline (which also drops tags, and text between
<script> tags, from its output) but in Python by snippet.py for both backends, with the
same Snowball algorithm PostgreSQL's dutch dictionary runs.
"""

from __future__ import annotations

from functools import reduce

from sqlalchemy import ColumnElement, func, literal_column, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Float

from persistence.search.query import Clause, Phrase, Query, Word

CONFIG_NAME = "werkplaats_nl"
CONFIG: ColumnElement[str] = literal_column(f"'{CONFIG_NAME}'::regconfig")
SIMPLE: ColumnElement[str] = literal_column("'simple'::regconfig")
VECTOR: ColumnElement[str] = literal_column("messages.search_vector")
INDEX_NAME = "ix_messages_search_vector"


def _clause(c: Clause) -> ColumnElement[str]:
    if isinstance(c, Phrase):
        return func.phraseto_tsquery(CONFIG, " ".join(c.words))
    if isinstance(c, Word) and c.prefix:
        # Quoted as a tsquery literal: the word is letters and digits only (dutch.WORD_RE).
        # The stem as prefix, or the typed letters as prefix (see sqlite._clause).
        literal = f"'{c.text}':*"
        return func.tsquery_or(func.to_tsquery(CONFIG, literal), func.to_tsquery(SIMPLE, literal))
    return func.plainto_tsquery(CONFIG, c.text)


def tsquery(query: Query) -> ColumnElement[str]:
    """The tsquery of the whole query: positive clauses AND-ed, exclusions AND-NOT-ed."""
    parts = [_clause(c) for c in query.include]
    parts += [func.tsquery_not(_clause(c)) for c in query.exclude]
    return reduce(func.tsquery_and, parts)


def match(query: Query) -> ColumnElement[bool]:
    return VECTOR.op("@@")(tsquery(query))


def score(query: Query) -> ColumnElement[float]:
    """Cover density with length normalisation; higher is better."""
    return func.ts_rank_cd(VECTOR, tsquery(query), 1).cast(Float)


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

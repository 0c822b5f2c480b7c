"""search: Dutch full text (PostgreSQL tsvector + GIN, SQLite FTS5)

Revision ID: 0002
Revises: 0001

PostgreSQL: the `unaccent` extension (trusted since PostgreSQL 13: a database owner may
create it), a Snowball Dutch dictionary without stop words, the configuration
`werkplaats_nl` (a copy of `dutch` whose words go through unaccent, then that stemmer),
and `messages.search_vector`, generated from the body (NULL while hidden) under a GIN
index. SQLite: the FTS5 table `message_search` of stems, filled from existing messages.
See persistence/search/ and docs/search.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.search.dutch import index_text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WORD_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


def _upgrade_postgresql() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(
        "CREATE TEXT SEARCH DICTIONARY werkplaats_nl_stem (TEMPLATE = snowball, Language = dutch)"
    )
    op.execute("CREATE TEXT SEARCH CONFIGURATION werkplaats_nl (COPY = pg_catalog.dutch)")
    op.execute(
        f"ALTER TEXT SEARCH CONFIGURATION werkplaats_nl ALTER MAPPING FOR {WORD_TOKENS} "
        "WITH unaccent, werkplaats_nl_stem"
    )
    op.execute(
        "ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        "(CASE WHEN hidden THEN NULL ELSE to_tsvector('werkplaats_nl'::regconfig, "
        # Plain text, not HTML: without this the parser drops <tags> and &entities;.
        "translate(body, '<>&', '   ')) END) "
        "STORED"
    )
    op.execute("CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)")


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE message_search USING fts5("
        "terms, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, body FROM messages WHERE NOT hidden")).all()
    if rows:
        bind.execute(
            sa.text("INSERT INTO message_search (rowid, terms) VALUES (:id, :terms)"),
            [{"id": r.id, "terms": index_text(r.body)} for r in rows],
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_search_vector")
        op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS werkplaats_nl")
        op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS werkplaats_nl_stem")
    else:
        op.execute("DROP TABLE IF EXISTS message_search")

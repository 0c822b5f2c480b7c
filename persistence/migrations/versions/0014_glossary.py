"""glossary and compounds: the glossary table, compound parts in the search index

Revision ID: 0014
Revises: 0013

The table `glossary` (moderators' abbreviations and synonyms). The search index gets a
second field for the parts of Dutch compounds (persistence/search/compounds.py):

PostgreSQL, without downtime for reads: `messages.search_parts` (text, NULL until
computed: adding it rewrites nothing), and a GIN index on the words followed by the parts
built beside the old one, which is then dropped. Building it in this transaction holds
back writes to `messages`, never reads: old processes keep searching with the old index
meanwhile. The index answers at once as the old one did (no parts yet); the parts
themselves are computed after the upgrade by `serve` in the background, in short batches
(`search.index.catch_up`), or by `werkplaats reindex`.

SQLite: `message_search` is rebuilt with the columns (terms, parts), in batches, here:
SQLite serves one machine, whose server is restarted for the upgrade anyway.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models
from persistence.search.compounds import parts_text
from persistence.search.dutch import index_text

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = persistence.models.UTCDateTime(timezone=True)
BATCH = 2000
# Written as persistence/search/postgres.py's VECTOR_SQL, so that searches use the index.
TERMS = (
    "(search_vector || setweight(to_tsvector('simple'::regconfig,"
    " coalesce(search_parts, ''::text)), 'C'::\"char\"))"
)
FTS = "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'"


def _glossary() -> None:
    op.create_table(
        "glossary",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("means", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_glossary_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_glossary")),
        sa.UniqueConstraint("term", "means", name="uq_glossary_term_means"),
    )


def _upgrade_postgresql() -> None:
    op.execute("ALTER TABLE messages ADD COLUMN search_parts text")
    op.execute(f"CREATE INDEX ix_messages_search_terms ON messages USING gin ({TERMS})")
    op.execute("DROP INDEX ix_messages_search_vector")


def _upgrade_sqlite() -> None:
    op.execute(f"CREATE VIRTUAL TABLE message_search_new USING fts5(terms, parts, {FTS})")
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, body FROM messages WHERE id > :last AND NOT hidden AND body <> ''"
                " ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        bind.execute(
            sa.text("INSERT INTO message_search_new (rowid, terms, parts) VALUES (:id, :t, :p)"),
            [{"id": r.id, "t": index_text(r.body), "p": parts_text(r.body)} for r in rows],
        )
        last = rows[-1].id
    op.execute("DROP TABLE message_search")
    op.execute("ALTER TABLE message_search_new RENAME TO message_search")


def upgrade() -> None:
    _glossary()
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    op.drop_table("glossary")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)")
        op.execute("DROP INDEX ix_messages_search_terms")
        op.execute("ALTER TABLE messages DROP COLUMN search_parts")
    else:
        op.execute(f"CREATE VIRTUAL TABLE message_search_old USING fts5(terms, {FTS})")
        op.execute(
            "INSERT INTO message_search_old (rowid, terms) SELECT rowid, terms FROM message_search"
        )
        op.execute("DROP TABLE message_search")
        op.execute("ALTER TABLE message_search_old RENAME TO message_search")

"""meeting reports: the verslag of a meeting, its revisions, and its search index

One report per meeting (`meeting_reports`, status draft or published, the Markdown and
the sanitised HTML rendered from it) and every text it has had
(`meeting_report_revisions`). Published reports are found by the Dutch search:
PostgreSQL gets `meeting_reports.search_vector` (the configuration `werkplaats_nl` of
migration 0002 over the body, NULL while a draft) under a GIN index; SQLite the FTS5
table `report_search` of stems, kept by the application (persistence/search/reports.py).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0008"
down_revision = "0007"  # given as "0006"; chained after the merged 0007
branch_labels = None
depends_on = None

UTC_DT = persistence.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meeting_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", UTC_DT, nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_reports_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_meeting_reports_updated_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_meeting_reports_published_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_reports")),
        sa.UniqueConstraint("meeting_id", name=op.f("uq_meeting_reports_meeting_id")),
    )
    op.create_table(
        "meeting_report_revisions",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["meeting_reports.id"],
            name=op.f("fk_meeting_report_revisions_report_id_meeting_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_meeting_report_revisions_updated_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("report_id", "revision", name=op.f("pk_meeting_report_revisions")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE meeting_reports ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(CASE WHEN status = 'published' THEN to_tsvector('werkplaats_nl'::regconfig, "
            "translate(body, '<>&', '   ')) END) STORED"
        )
        op.execute(
            "CREATE INDEX ix_meeting_reports_search_vector ON meeting_reports "
            "USING gin (search_vector)"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE report_search USING fts5("
            "terms, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_meeting_reports_search_vector")
    else:
        op.execute("DROP TABLE IF EXISTS report_search")
    op.drop_table("meeting_report_revisions")
    op.drop_table("meeting_reports")

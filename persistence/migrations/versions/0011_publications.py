"""publications: lesson cards and verslagen for the public pages, with each author's consent

Revision ID: 0011
Revises: 0008 (0006 on its own; after the verslag branch, chained so there is one head)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = persistence.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("worked", sa.Text(), nullable=False),
        sa.Column("did_not_work", sa.Text(), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=False),
        sa.Column("theme", sa.String(length=100), nullable=False),
        sa.Column("layers", sa.String(length=100), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("published_at", UTC_DT, nullable=True),
        sa.Column("withdrawn_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_publications_room_id_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_publications_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_publications_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    op.create_index("ix_publications_status_published", "publications", ["status", "published_at"])
    op.create_table(
        "publication_authors",
        sa.Column("publication_id", BIG_ID, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=True),
        sa.Column("show_name", sa.Boolean(), nullable=False),
        sa.Column("answered_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_publication_authors_publication_id_publications"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_publication_authors_user_id_users")
        ),
        sa.PrimaryKeyConstraint("publication_id", "user_id", name=op.f("pk_publication_authors")),
    )
    op.create_index(
        op.f("ix_publication_authors_user_id"), "publication_authors", ["user_id"], unique=False
    )
    op.create_table(
        "publication_quotes",
        sa.Column("publication_id", BIG_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("written_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_publication_quotes_publication_id_publications"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_publication_quotes_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_publication_quotes_author_id_users")
        ),
        sa.PrimaryKeyConstraint("publication_id", "position", name=op.f("pk_publication_quotes")),
    )


def downgrade() -> None:
    op.drop_table("publication_quotes")
    op.drop_index(op.f("ix_publication_authors_user_id"), table_name="publication_authors")
    op.drop_table("publication_authors")
    op.drop_index("ix_publications_status_published", table_name="publications")
    op.drop_table("publications")

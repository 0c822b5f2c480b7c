"""files: attachments of messages and of meeting reports

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = persistence.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_files_room_id_rooms")),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.id"], name=op.f("fk_files_uploader_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_files_meeting_id_meetings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    op.create_index("ix_files_uploader", "files", ["uploader_id"])
    op.create_index(
        "ix_files_unused",
        "files",
        ["created_at"],
        postgresql_where=sa.text("message_id IS NULL"),
    )
    op.create_index(op.f("ix_files_message_id"), "files", ["message_id"])
    op.create_index(op.f("ix_files_meeting_id"), "files", ["meeting_id"])
    op.create_index(op.f("ix_files_sha256"), "files", ["sha256"])


def downgrade() -> None:
    op.drop_table("files")

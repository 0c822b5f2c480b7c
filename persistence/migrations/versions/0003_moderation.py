"""moderation: pins, purge marker on messages, report queue index

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pins",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("pinned_by_id", sa.Integer(), nullable=True),
        sa.Column("pinned_at", persistence.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_pins_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["pinned_by_id"], ["users.id"], name=op.f("fk_pins_pinned_by_id_users")
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_pins_room_id_rooms")),
        sa.PrimaryKeyConstraint("room_id", "message_id", name=op.f("pk_pins")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purged_at", persistence.models.UTCDateTime(timezone=True), nullable=True)
        )
    # The moderators' queue reads reports by status, newest first.
    op.create_index("ix_reports_status_at", "reports", ["status", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reports_status_at", table_name="reports")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
    op.drop_table("pins")

"""between meetings: message marks, theme tags, member preferences, digests sent

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = persistence.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "message_marks",
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("marked_by_id", sa.Integer(), nullable=False),
        sa.Column("marked_at", UTC_DT, nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("answer_id", BIG_ID, nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_message_marks_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_message_marks_room_id_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_message_marks_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_message_marks_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["marked_by_id"], ["users.id"], name=op.f("fk_message_marks_marked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"], ["users.id"], name=op.f("fk_message_marks_answered_by_id_users")
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message_marks")),
    )
    op.create_index("ix_message_marks_room_kind", "message_marks", ["room_id", "kind"])
    op.create_table(
        "message_themes",
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("tagged_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_message_themes_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"], ["themes.id"], name=op.f("fk_message_themes_theme_id_themes")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_message_themes_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("message_id", "theme_id", name=op.f("pk_message_themes")),
    )
    op.create_index(op.f("ix_message_themes_room_id"), "message_themes", ["room_id"], unique=False)
    op.create_table(
        "member_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_member_preferences_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_member_preferences")),
    )
    op.create_table(
        "digests_sent",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_digests_sent_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_digests_sent_user_id_users")
        ),
        sa.PrimaryKeyConstraint("meeting_id", "user_id", name=op.f("pk_digests_sent")),
    )


def downgrade() -> None:
    op.drop_table("digests_sent")
    op.drop_table("member_preferences")
    op.drop_index(op.f("ix_message_themes_room_id"), table_name="message_themes")
    op.drop_table("message_themes")
    op.drop_index("ix_message_marks_room_kind", table_name="message_marks")
    op.drop_table("message_marks")

"""meeting cycle: registrations, meeting capacity and status, calendar feeds, actiepunt status

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = persistence.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ends_at", UTC_DT, nullable=True))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("registration_closes_at", UTC_DT, nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="planned")
        )
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "meeting_registrations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("registered_at", UTC_DT, nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.CheckConstraint(
            "status IN ('going', 'maybe', 'waitlist', 'not_going')",
            name=op.f("ck_meeting_registrations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_registrations_meeting_id_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_meeting_registrations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_registrations")),
        sa.UniqueConstraint("meeting_id", "user_id", name="uq_meeting_registrations_meeting_user"),
    )
    op.create_index(op.f("ix_meeting_registrations_user_id"), "meeting_registrations", ["user_id"])
    op.create_table(
        "calendar_feeds",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendar_feeds_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_calendar_feeds_secret_hash")),
    )
    with op.batch_alter_table("message_marks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("status_changed_at", UTC_DT, nullable=True))
        batch_op.add_column(sa.Column("status_changed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_message_marks_status_changed_by_id_users"),
            "users",
            ["status_changed_by_id"],
            ["id"],
        )
    # Actiepunten marked before this revision start open.
    op.execute("UPDATE message_marks SET action_status = 'open' WHERE kind = 'actiepunt'")


def downgrade() -> None:
    with op.batch_alter_table("message_marks", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_message_marks_status_changed_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("status_changed_by_id")
        batch_op.drop_column("status_changed_at")
        batch_op.drop_column("action_status")
    op.drop_table("calendar_feeds")
    op.drop_index(op.f("ix_meeting_registrations_user_id"), table_name="meeting_registrations")
    op.drop_table("meeting_registrations")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("sequence")
        batch_op.drop_column("status")
        batch_op.drop_column("registration_closes_at")
        batch_op.drop_column("capacity")
        batch_op.drop_column("ends_at")

"""notifications: room levels, push subscriptions, the VAPID key, mails waiting

Revision ID: 0013
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = persistence.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_levels",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_levels_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_notification_levels_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("user_id", "room_id", name=op.f("pk_notification_levels")),
    )
    op.create_index(
        "ix_notification_levels_room_id", "notification_levels", ["room_id"], unique=False
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("p256dh", sa.String(length=128), nullable=False),
        sa.Column("auth", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_push_subscriptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index(
        "ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"], unique=False
    )
    op.create_table(
        "vapid_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("private_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vapid_keys")),
    )
    op.create_table(
        "notification_mails",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTC_DT, nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", UTC_DT, nullable=True),
        sa.Column("sent_at", UTC_DT, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_mails_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_notification_mails_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_mails")),
        sa.UniqueConstraint("user_id", "message_id", "kind", name="uq_notification_mails_once"),
    )
    op.create_index(
        "ix_notification_mails_due", "notification_mails", ["sent_at", "due_at"], unique=False
    )
    op.create_table(
        "notification_mail_off",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_mail_off_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_mail_off")),
    )


def downgrade() -> None:
    op.drop_table("notification_mail_off")
    op.drop_index("ix_notification_mails_due", table_name="notification_mails")
    op.drop_table("notification_mails")
    op.drop_table("vapid_keys")
    op.drop_index("ix_push_subscriptions_user_id", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_notification_levels_room_id", table_name="notification_levels")
    op.drop_table("notification_levels")

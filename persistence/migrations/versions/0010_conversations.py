"""conversations: message topics, reactions, topic aliases (direct rooms need no table)

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = persistence.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=60), nullable=True))
    op.create_index("ix_messages_room_topic", "messages", ["room_id", "topic"], unique=False)
    op.create_table(
        "reactions",
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("emoji", sa.String(length=32), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_reactions_message_id_messages")
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_reactions_room_id_rooms")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_reactions_user_id_users")),
        sa.PrimaryKeyConstraint("message_id", "user_id", "emoji", name=op.f("pk_reactions")),
    )
    op.create_index(
        "ix_reactions_room_message", "reactions", ["room_id", "message_id"], unique=False
    )
    op.create_table(
        "topic_aliases",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("old_name", sa.String(length=60), nullable=False),
        sa.Column("new_name", sa.String(length=60), nullable=False),
        sa.Column("at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_topic_aliases_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_aliases")),
    )
    op.create_index(
        "ix_topic_aliases_room_old", "topic_aliases", ["room_id", "old_name"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_topic_aliases_room_old", table_name="topic_aliases")
    op.drop_table("topic_aliases")
    op.drop_index("ix_reactions_room_message", table_name="reactions")
    op.drop_table("reactions")
    op.drop_index("ix_messages_room_topic", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("topic")

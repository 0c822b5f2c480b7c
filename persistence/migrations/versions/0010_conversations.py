"""conversations: message topics, reactions, topic aliases, polls (direct rooms: no table)

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0010"
down_revision = "0009"
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

    op.create_table(
        "polls",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("closes_at", UTC_DT, nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_polls_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_polls_room_id_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
    )
    op.create_index("ix_polls_room_id", "polls", ["room_id"], unique=False)
    op.create_table(
        "poll_ballots",
        sa.Column("poll_id", BIG_ID, nullable=False),
        sa.Column("voter", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls.id"], name=op.f("fk_poll_ballots_poll_id_polls")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_poll_ballots_user_id_users")
        ),
        sa.PrimaryKeyConstraint("poll_id", "voter", name=op.f("pk_poll_ballots")),
    )


def downgrade() -> None:
    op.drop_table("poll_ballots")
    op.drop_index("ix_polls_room_id", table_name="polls")
    op.drop_table("polls")
    op.drop_index("ix_topic_aliases_room_old", table_name="topic_aliases")
    op.drop_table("topic_aliases")
    op.drop_index("ix_reactions_room_message", table_name="reactions")
    op.drop_table("reactions")
    op.drop_index("ix_messages_room_topic", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("topic")

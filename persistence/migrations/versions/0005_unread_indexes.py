"""unread counts without a scan: indexes for what `hello` counts

A user's unread count in a room is the messages by others after their read marker. Seqs
are gap-free, so that is the seqs after the marker, less the events that are no message
(few: edits, hides, settings) and less the user's own messages; and the mention candidates
are the unread messages with an `@` in the body. Each gets an index that holds only what
it counts, so a set-up costs index probes instead of a scan of everything unread.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NOT_MESSAGE = sa.text("type <> 'message'")
AT_SIGN = sa.text("body LIKE '%@%'")


def upgrade() -> None:
    op.create_index(
        "ix_events_not_message",
        "events",
        ["room_id", "seq"],
        postgresql_where=NOT_MESSAGE,
        sqlite_where=NOT_MESSAGE,
    )
    op.create_index(
        "ix_messages_at_sign",
        "messages",
        ["room_id", "seq"],
        postgresql_where=AT_SIGN,
        sqlite_where=AT_SIGN,
    )
    # Replaces the index on author_id alone, which it serves as well.
    op.create_index("ix_messages_author_room_seq", "messages", ["author_id", "room_id", "seq"])
    op.drop_index("ix_messages_author_id", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_author_id", "messages", ["author_id"])
    op.drop_index("ix_messages_author_room_seq", table_name="messages")
    op.drop_index("ix_messages_at_sign", table_name="messages")
    op.drop_index("ix_events_not_message", table_name="events")

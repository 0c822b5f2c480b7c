"""conversations, completed: the shared rooms' index, the server's kept secrets

Revision ID: 0015_convo
Revises: 0014

`ix_rooms_shared`: a partial index of the rooms that are no direct conversation, by
(kind, slug), so that a room list reads the shared rooms and, through `memberships`, the
caller's own direct conversations, never everyone's (persistence.rooms.listed_rooms).

`server_secrets`: random secrets the first process makes and every process keeps using,
such as the key of anonymous poll ballots (persistence.polls.ballot_secret). Ballots of
anonymous polls stored before this revision were keyed otherwise: their voters cannot
change them, so any anonymous poll still open is closed now (its results stay).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0015_convo"
down_revision = "0014"
branch_labels = None
depends_on = None

UTC_DT = persistence.models.UTCDateTime(timezone=True)
SHARED = sa.text("kind <> 'direct'")


def upgrade() -> None:
    op.create_index(
        "ix_rooms_shared",
        "rooms",
        ["kind", "slug"],
        unique=False,
        postgresql_where=SHARED,
        sqlite_where=SHARED,
    )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    now = sa.func.current_timestamp()
    polls = sa.table(
        "polls",
        sa.column("id", sa.Integer()),
        sa.column("anonymous", sa.Boolean()),
        sa.column("closes_at", UTC_DT),
    )
    ballots = sa.table("poll_ballots", sa.column("poll_id", sa.Integer()))
    op.execute(
        polls.update()
        .where(
            polls.c.anonymous.is_(True),
            sa.or_(polls.c.closes_at.is_(None), polls.c.closes_at > now),
            polls.c.id.in_(sa.select(ballots.c.poll_id)),
        )
        .values(closes_at=now)
    )


def downgrade() -> None:
    op.drop_table("server_secrets")
    op.drop_index("ix_rooms_shared", table_name="rooms")

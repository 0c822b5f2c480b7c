"""access changes: disabled accounts, and a counter that running processes poll

Every transaction that may take away someone's access (ban, membership, role, archive,
disabled account) bumps `access_version` and records what it changed in `access_changes`;
each serving process polls the counter every second, so that a change made by a CLI
command, or one whose Redis message was lost, reaches open connections at once.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = persistence.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", UTC_DT, nullable=True))
    version = op.create_table(
        "access_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    op.create_table(
        "access_changes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("room", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_changes")),
    )
    op.create_index("ix_access_changes_version", "access_changes", ["version"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_access_changes_version", table_name="access_changes")
    op.drop_table("access_changes")
    op.drop_table("access_version")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")

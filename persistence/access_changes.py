"""The access-change log: what every running process re-checks when someone loses access.

A transaction that may take away access (a ban, a membership or role that ends, an archived
room, a disabled account) calls `record` last, in the same transaction: it bumps the single
`access_version` row and writes one `access_changes` row per change with that version. The
row lock (PostgreSQL; SQLite's write lock) serialises such transactions, so versions are
committed in order: a reader that sees version V finds every change up to V. Each serving
process polls `read_version` every second (one primary-key read) and re-checks the open
connections that `changes_between` names (chat/access_watch.py). Rows older than
`KEEP_VERSIONS` versions are pruned; a reader that fell that far behind re-checks everyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import AccessChangeRow, AccessVersion, utcnow

KEEP_VERSIONS = 1000

# What `removed` says (the contract's frame carries a free-form `reason`).
BANNED = "banned"
MEMBERSHIP_ENDED = "membership_ended"
MODERATOR_ROLE_ENDED = "moderator_role_ended"
ROLE_CHANGED = "role_changed"
ARCHIVED = "archived"
DISABLED = "disabled"
SESSION_ENDED = "session_ended"
REVOKED = "access revoked"


@dataclass(frozen=True, slots=True)
class AccessChange:
    """Someone may have lost access: one user (`user_id`), everyone in `room`, or (neither)
    everyone; `room` with `user_id` narrows it to that user in that room."""

    user_id: int | None = None
    room: str | None = None
    reason: str = REVOKED


async def record(session: AsyncSession, changes: Sequence[AccessChange]) -> int | None:
    """Bump the version and log the changes in the caller's transaction; the new version."""
    if not changes:
        return None
    version = (
        await session.execute(
            update(AccessVersion)
            .where(AccessVersion.id == 1)
            .values(version=AccessVersion.version + 1)
            .returning(AccessVersion.version)
        )
    ).scalar_one()
    now = utcnow()
    await session.execute(
        insert(AccessChangeRow),
        [
            {
                "version": version,
                "user_id": c.user_id,
                "room": c.room,
                "reason": c.reason,
                "at": now,
            }
            for c in changes
        ],
    )
    await session.execute(
        delete(AccessChangeRow).where(AccessChangeRow.version <= version - KEEP_VERSIONS)
    )
    return int(version)


_VERSION = select(AccessVersion.version).where(AccessVersion.id == 1)


def read_version(conn: Connection) -> int:
    """The latest committed access version."""
    return int(conn.execute(_VERSION).scalar_one())


@dataclass(frozen=True, slots=True)
class Changes:
    """The changes after a version up to another, and whether the log still had them all."""

    changes: list[AccessChange]
    complete: bool


def changes_between(conn: Connection, after: int, upto: int) -> Changes:
    """The changes of versions after < v ≤ upto, in order."""
    rows = conn.execute(
        select(
            AccessChangeRow.version,
            AccessChangeRow.user_id,
            AccessChangeRow.room,
            AccessChangeRow.reason,
        )
        .where(AccessChangeRow.version > after, AccessChangeRow.version <= upto)
        .order_by(AccessChangeRow.id)
    ).all()
    # Every version has at least one row; fewer distinct versions means some were pruned.
    complete = len({r[0] for r in rows}) == upto - after
    return Changes([AccessChange(r[1], r[2], r[3]) for r in rows], complete)

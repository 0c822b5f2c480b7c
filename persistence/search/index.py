"""Keeping the search index in step with the messages, and rebuilding it.

PostgreSQL keeps `messages.search_vector` itself (a generated column), so the hooks
below do nothing there. On SQLite the application keeps the FTS5 table: every path that
creates a message, changes its body or hides it calls `on_message_changed` in the same
transaction, so the index commits or rolls back with the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.db import Database
from persistence.models import Message
from persistence.search import sqlite

REINDEX_BATCH = 2000


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def on_message_changed(session: AsyncSession, message: Message) -> None:
    """Index a new or edited message; drop a hidden (or blanked) one. Call after flush."""
    if not _is_sqlite(session):
        return
    if message.hidden or not message.body:
        await sqlite.remove(session, [message.id])
    else:
        await sqlite.put(session, [(message.id, message.body)])


async def on_messages_removed(session: AsyncSession, message_ids: Iterable[int]) -> None:
    """Drop messages whose text is gone (hidden in bulk, purged by retention)."""
    if _is_sqlite(session):
        await sqlite.remove(session, message_ids)


async def message_count(db: Database) -> int:
    async with db.read() as session:
        return int((await session.execute(select(func.count()).select_from(Message))).scalar_one())


async def _reindex_range(session: AsyncSession, lo: int, hi: int) -> int:
    """Rebuild the index for ids in [lo, hi); returns how many messages the range holds."""
    rows = (
        await session.execute(
            select(Message.id, Message.body, Message.hidden).where(
                Message.id >= lo, Message.id < hi
            )
        )
    ).all()
    if _is_sqlite(session):
        await session.execute(
            text(f"DELETE FROM {sqlite.TABLE} WHERE rowid >= :lo AND rowid < :hi"),  # noqa: S608
            {"lo": lo, "hi": hi},
        )
        await sqlite.put(session, [(r.id, r.body) for r in rows if not r.hidden and r.body])
    else:
        # A stored generated column is recomputed whenever its row is written.
        await session.execute(
            update(Message).where(Message.id >= lo, Message.id < hi).values(body=Message.body)
        )
    return len(rows)


async def reindex(
    db: Database, progress: Callable[[int], object] | None = None, batch: int = REINDEX_BATCH
) -> int:
    """Rebuild the whole index in id ranges, one short transaction each; returns the count.

    Search keeps working meanwhile, and writers interleave with the batches: each range is
    read and re-indexed under the write lock, so a message posted during the run is either
    indexed by its own transaction or seen by its range's batch.
    """
    async with db.read() as session:
        top = (await session.execute(select(func.max(Message.id)))).scalar_one() or 0
    done = 0
    for lo in range(0, top + 1, batch):
        async with db.write() as session:
            n = await _reindex_range(session, lo, lo + batch)
        done += n
        if progress is not None and n:
            progress(n)
    async with db.write() as session:
        if _is_sqlite(session):
            await session.execute(
                text(f"DELETE FROM {sqlite.TABLE} WHERE rowid > :top"),  # noqa: S608
                {"top": top},
            )
            await session.execute(
                text(f"INSERT INTO {sqlite.TABLE}({sqlite.TABLE}) VALUES ('optimize')")  # noqa: S608
            )
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE messages"))
            await conn.commit()
    return done

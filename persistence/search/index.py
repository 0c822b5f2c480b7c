"""Keeping the search index in step with the messages, and rebuilding it.

PostgreSQL keeps `messages.search_vector` itself (a generated column); the stems of a
message's compounds (`search_parts`, split in Python) are written by whoever writes the
body: the send path in its insert, an edit here. On SQLite the application keeps the
FTS5 table: every path that creates a message, changes its body or hides it calls
`on_message_changed` in the same transaction, so the index commits or rolls back with
the change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.db import Database
from persistence.models import Message
from persistence.search import sqlite
from persistence.search.compounds import parts_text, vocabulary

REINDEX_BATCH = 2000
# One statement sets the parts of a batch of messages (PostgreSQL).
_SET_PARTS_PG = text(
    "UPDATE messages SET search_parts = v.p"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:parts AS text[])) AS v(id, p)"
    " WHERE messages.id = v.id"
)
# Advisory lock key of the catch-up after an upgrade: one process of many does it.
_CATCH_UP_LOCK = 727275

log = logging.getLogger(__name__)


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def set_parts_pg(session: AsyncSession, rows: Sequence[tuple[int, str]]) -> None:
    """Store the compound parts of (id, body) pairs on PostgreSQL ('' when there are none)."""
    if rows:
        await session.execute(
            _SET_PARTS_PG,
            {"ids": [mid for mid, _ in rows], "parts": [parts_text(b) for _, b in rows]},
        )


async def on_message_changed(session: AsyncSession, message: Message) -> None:
    """Index a new or edited message; drop a hidden (or blanked) one. Call after flush."""
    if not _is_sqlite(session):
        if not message.hidden:
            await set_parts_pg(session, [(message.id, message.body or "")])
        return
    if message.hidden or not message.body:
        await sqlite.remove(session, [message.id])
    else:
        await sqlite.put(session, [(message.id, message.body)])


async def on_messages_removed(session: AsyncSession, message_ids: Iterable[int]) -> None:
    """Drop messages whose text is gone (hidden in bulk, purged by retention)."""
    if _is_sqlite(session):
        await sqlite.remove(session, message_ids)
    else:
        await set_parts_pg(session, [(mid, "") for mid in message_ids])


async def message_count(db: Database) -> int:
    async with db.read() as session:
        return int((await session.execute(select(func.count()).select_from(Message))).scalar_one())


async def _reindex_range(session: AsyncSession, lo: int, hi: int, pending: bool = False) -> int:
    """Rebuild the index for ids in [lo, hi) (`pending`: only PostgreSQL rows whose parts
    were never computed); returns how many messages the range holds."""
    stmt = select(Message.id, Message.body, Message.hidden).where(Message.id >= lo, Message.id < hi)
    if pending:
        stmt = stmt.where(text("messages.search_parts IS NULL"))
    rows = (await session.execute(stmt)).all()
    if _is_sqlite(session):
        await session.execute(
            text(f"DELETE FROM {sqlite.TABLE} WHERE rowid >= :lo AND rowid < :hi"),  # noqa: S608
            {"lo": lo, "hi": hi},
        )
        await sqlite.put(session, [(r.id, r.body) for r in rows if not r.hidden and r.body])
    else:
        # Writing the row also recomputes the generated search_vector.
        await set_parts_pg(session, [(r.id, r.body or "") for r in rows])
    return len(rows)


async def reindex(
    db: Database,
    progress: Callable[[int], object] | None = None,
    batch: int = REINDEX_BATCH,
    pending: bool = False,
) -> int:
    """Rebuild the whole index in id ranges, one short transaction each; returns the count.

    Search keeps working meanwhile, and writers interleave with the batches: each range is
    read and re-indexed under the write lock, so a message posted during the run is either
    indexed by its own transaction or seen by its range's batch. Newest messages first:
    they are the ones searched most.
    """
    # Read the word list before the first transaction, not inside it.
    await asyncio.to_thread(vocabulary)
    async with db.read() as session:
        top = (await session.execute(select(func.max(Message.id)))).scalar_one() or 0
    done = 0
    for lo in reversed(range(0, top + 1, batch)):
        async with db.write() as session:
            n = await _reindex_range(session, lo, lo + batch, pending)
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


async def catch_up(db: Database) -> int:
    """After an upgrade (migration 0014), compute the compound parts that PostgreSQL lacks.

    Run by every `serve` process at start, in the background: one of them takes the lock
    and works in short batches while search answers from the index as it is (whole words
    at once, compounds as the batches reach them). Also reads the word list, so the first
    send does not. Returns how many messages it indexed.
    """
    vocab = await asyncio.to_thread(vocabulary)
    if db.is_sqlite or not vocab.words:
        return 0  # SQLite's migration rebuilt its index; without a list, wait for one
    async with db.engine.connect() as conn:
        pending = await conn.execute(
            text("SELECT EXISTS (SELECT FROM messages WHERE search_parts IS NULL)")
        )
        if not pending.scalar_one():
            return 0
        locked = await conn.execute(text(f"SELECT pg_try_advisory_lock({_CATCH_UP_LOCK})"))
        if not locked.scalar_one():
            return 0
        try:
            done = await reindex(db, pending=True)
        except Exception:
            # A background task: say so and leave the rest to the next start or `reindex`.
            log.exception("search index: computing compound parts failed")
            return 0
        finally:
            await conn.execute(text(f"SELECT pg_advisory_unlock({_CATCH_UP_LOCK})"))
        log.info("search index: compound parts computed for %d messages", done)
        return done

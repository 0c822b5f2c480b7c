"""Group commit: concurrent `send`s of this process share write transactions.

Each send is a short transaction that mostly waits: for SQLite's single write lock, or for
the room row's lock on PostgreSQL. Under load, sends that arrive while a transaction is
running are queued and then stored together, set-based (`store.post_many`: a fixed
number of statements per batch), so one commit and a few round trips serve many. With no
load a send goes alone, at once.

The batch runs in a task of its own, not in the sender's, so that a connection closing
mid-send cannot cancel the other senders' transaction. Every sender waits for its own
result, which arrives only after the commit: durable before visible still holds.
"""

from __future__ import annotations

import asyncio
import logging
import time

from chat import store
from chat.metrics import DB_SECONDS
from chat.store import Acked, SendRequest
from persistence.db import Database
from persistence.search.compounds import index_fields

log = logging.getLogger("werkplaats.sends")
_COMMIT_SECONDS = DB_SECONDS.labels("send")

# Sends per transaction: large enough to amortise a commit, small enough to keep a batch's
# row lock short and its latency below a few tens of milliseconds.
MAX_BATCH = 64
# PostgreSQL batches are set-based statements: a larger batch costs few more round trips.
POSTGRES_MAX_BATCH = 256
# Transactions in flight at once: SQLite has one writer; on PostgreSQL a batch's cost is
# mostly per statement, so parallel batches on a small machine only split the load
# (docs/performance.md, "Send path"). Raise it where PostgreSQL has cores of its own.
SQLITE_INFLIGHT = 1
POSTGRES_INFLIGHT = 1


class GroupCommit:
    """Queues sends and stores them in batches (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.max_inflight = SQLITE_INFLIGHT if db.is_sqlite else POSTGRES_INFLIGHT
        self.max_batch = MAX_BATCH if db.is_sqlite else POSTGRES_MAX_BATCH
        self.pending: list[tuple[SendRequest, asyncio.Future[Acked]]] = []
        self.inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        # Rooms of the batches in flight: a room's sends go to one batch at a time.
        self.claimed: set[str] = set()
        self.batches = 0
        self.largest = 0

    async def post(self, req: SendRequest) -> Acked:
        """Store one send (with whichever others are waiting); its ack values and frame."""
        if self.db.is_sqlite and req.body:
            # Made now, while an earlier batch may hold SQLite's one writer: not under it.
            req.search = index_fields(req.body)
        fut: asyncio.Future[Acked] = asyncio.get_running_loop().create_future()
        self.pending.append((req, fut))
        if self.inflight < self.max_inflight:
            self.inflight += 1
            task = asyncio.create_task(self._drain(), name="group-commit")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Not shielded: a sender cancelled while waiting cancels only its own future, which
        # the batch then skips (`_commit`); the batch itself runs in its own task.
        return await fut

    async def _drain(self) -> None:
        try:
            while batch := self._take():
                try:
                    await self._commit(batch)
                finally:
                    self.claimed.difference_update(req.slug for req, _ in batch)
        finally:
            self.inflight -= 1

    def _take(self) -> list[tuple[SendRequest, asyncio.Future[Acked]]]:
        """The next batch: pending sends, in arrival order, of rooms no other batch holds.

        Batches in flight at once (PostgreSQL) then lock disjoint rooms instead of queuing on
        each other's row locks; a room's sends stay in arrival order, one batch at a time.
        """
        batch: list[tuple[SendRequest, asyncio.Future[Acked]]] = []
        rest: list[tuple[SendRequest, asyncio.Future[Acked]]] = []
        busy = self.claimed
        for item in self.pending:
            if len(batch) < self.max_batch and item[0].slug not in busy:
                batch.append(item)
            else:
                rest.append(item)
        if not batch:
            return batch
        self.pending = rest
        # Claimed once the batch is chosen: a room of this batch is open to it throughout.
        self.claimed.update(req.slug for req, _ in batch)
        return batch

    async def _commit(self, batch: list[tuple[SendRequest, asyncio.Future[Acked]]]) -> None:
        # Each send locks its room's row until the commit. Batches running at once (here and
        # in other processes) must take those locks in one global order, or two batches that
        # share two rooms deadlock on PostgreSQL. The sort is stable: a room's sends keep
        # their arrival order, so their seqs do too.
        batch = sorted(batch, key=lambda item: item[0].slug)
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        started = time.perf_counter()
        try:
            results = await store.post_many(self.db, [req for req, _ in batch])
        except Exception as exc:
            log.warning("group commit of %d sends failed: %r", len(batch), exc)
            results = [exc] * len(batch)
        _COMMIT_SECONDS.observe(time.perf_counter() - started)
        for (_, fut), result in zip(batch, results, strict=True):
            if fut.done():
                continue
            if isinstance(result, Exception):
                fut.set_exception(result)
            else:
                fut.set_result(result)

    async def close(self) -> None:
        """Wait for the batches in flight (shutdown: finish in-flight sends)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

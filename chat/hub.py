"""A room's live stream in one process: ordering, gap filling, and its subscriptions.

The hub delivers the room's events to its local subscriptions in seq order, each once,
with no gaps, whatever order they arrive in (this process's own sends, other processes
via the broker, fills from the database):
- `last` is the highest seq delivered. A newer event is parked in `pending`; the run
  `last+1, last+2, …` is delivered as soon as it is complete; older seqs are duplicates.
- When something stays parked for `REORDER_WAIT`, the missing seqs are read from the
  database (the truth) and delivered. The same happens on `catch_up`, which the owner
  calls when the broker reconnects and on its periodic poll.

A subscription is attached *before* its backlog is read (see `Subscription`): events that
arrive while the backlog is read are buffered and sent after it, so nothing falls in the
gap between the read and the live stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from chat.clock import SYSTEM_CLOCK, Clock
from chat.metrics import TALLY
from chat.outbound import FANOUT, SHED_BUFFERED, Flusher
from chat.ports import Conn

log = logging.getLogger("werkplaats.hub")

# Events from different processes overtake each other by a few milliseconds; a missing
# seq that has not arrived after this long is read from the database instead.
REORDER_WAIT = 0.15
# A subscription buffers live events while its backlog is read; more than this and the
# client is told to come back (1013) rather than buffer without bound.
MAX_BUFFERED = 5000
FILL_PAGE = 500

Fetch = Callable[[str, int, int], Awaitable[list[tuple[int, str]]]]
"""(room, after, upto) → encoded events with after < seq ≤ upto, ascending."""
LastSeq = Callable[[str], Awaitable[int]]


class Subscription:
    """One connection's subscription to one room."""

    __slots__ = ("buffer", "closed", "conn", "joined", "last_sent", "loading", "room")

    def __init__(self, conn: Conn, room: str) -> None:
        self.conn = conn
        self.room = room
        self.loading = True
        self.closed = False
        self.last_sent = 0
        self.buffer: list[tuple[int, str]] = []
        # Counted in presence (set once live; cleared on leave).
        self.joined = False

    def deliver(self, seq: int, frame: str) -> None:
        if self.closed:
            return
        if self.loading:
            self.buffer.append((seq, frame))
            if len(self.buffer) > MAX_BUFFERED:
                self.conn.outbound.shed(SHED_BUFFERED)
            return
        if seq <= self.last_sent:
            return
        if seq != self.last_sent + 1:
            # Cannot happen while the hub keeps its invariant; if it ever does, the client
            # must not see a gap: make it resume from what it has.
            log.error(
                "hub %s: seq %d after %d; resetting connection", self.room, seq, self.last_sent
            )
            self.conn.overflow()
            return
        self.last_sent = seq
        TALLY.deliveries += 1
        self.conn.outbound.offer(frame)

    def go_live(self, last_seq: int) -> list[str]:
        """The backlog ended at `last_seq`: the buffered events after it, now to be sent."""
        self.last_sent = last_seq
        self.loading = False
        frames: list[str] = []
        for seq, frame in self.buffer:
            if seq == self.last_sent + 1:
                self.last_sent = seq
                frames.append(frame)
        self.buffer = []
        return frames


class RoomHub:
    """The ordered live stream of one room in this process."""

    def __init__(
        self,
        room: str,
        fetch: Fetch,
        last_seq: LastSeq,
        clock: Clock = SYSTEM_CLOCK,
        flusher: Flusher | None = None,
    ) -> None:
        self.room = room
        self.clock = clock
        # Told of each fan-out, so that it paces the next flush (chat/outbound.py).
        self.flusher = flusher
        self._fetch = fetch
        self._last_seq = last_seq
        self.last: int | None = None
        self.pending: dict[int, str] = {}
        self.subs: dict[int, Subscription] = {}
        self.presence_sent: list[str] | None = None
        self._filler: asyncio.Task[None] | None = None
        self._fill_lock = asyncio.Lock()
        self.idle_since: float | None = None
        # Owned by the Realtime: the start-up task and the broker subscription.
        self.ready: asyncio.Task[None] | None = None
        self.stack = AsyncExitStack()

    async def initialise(self) -> None:
        """Start from the room's seq in the database (called once the broker listens)."""
        last = await self._last_seq(self.room)
        if self.last is None:
            self.last = last
            for seq in [s for s in self.pending if s <= last]:
                del self.pending[seq]
            self._drain()

    def receive(self, seq: int, frame: str) -> None:
        """An event from anywhere; delivered in order once everything before it is here."""
        if self.last is not None and seq <= self.last:
            return
        self.pending.setdefault(seq, frame)
        if self.last is None:
            return
        self._drain()
        if self.pending and (self._filler is None or self._filler.done()):
            self._filler = asyncio.create_task(self._fill_after_wait(), name=f"fill-{self.room}")

    def _drain(self) -> None:
        assert self.last is not None
        if self.flusher is not None and len(self.subs) >= FANOUT and self.last + 1 in self.pending:
            self.flusher.fanned = True
        while self.last + 1 in self.pending:
            self.last += 1
            frame = self.pending.pop(self.last)
            for sub in list(self.subs.values()):
                sub.deliver(self.last, frame)

    async def _fill_after_wait(self) -> None:
        await self.clock.sleep(REORDER_WAIT)
        if self.pending:
            await self.fill(max(self.pending))

    async def catch_up(self, known_last: int | None = None) -> None:
        """Deliver whatever the database has beyond `last` (broker reconnect, poll)."""
        if self.last is None:
            return
        target = known_last if known_last is not None else await self._last_seq(self.room)
        if target > self.last:
            await self.fill(target)

    async def fill(self, upto: int) -> None:
        """Read seqs last+1 … upto from the database and deliver them."""
        async with self._fill_lock:
            while self.last is not None and self.last < upto:
                after = self.last
                try:
                    rows = await self._fetch(self.room, after, min(upto, after + FILL_PAGE))
                except Exception:
                    log.exception("hub %s: reading the gap after %d failed", self.room, after)
                    return
                if not rows:
                    # Not committed yet (or not visible to this reader): the next poll retries.
                    return
                for seq, frame in rows:
                    self.receive(seq, frame)

    def attach(self, sub: Subscription) -> None:
        old = self.subs.get(id(sub.conn))
        if old is not None:
            old.closed = True
        self.subs[id(sub.conn)] = sub
        self.idle_since = None

    def detach(self, sub: Subscription) -> None:
        sub.closed = True
        if self.subs.get(id(sub.conn)) is sub:
            del self.subs[id(sub.conn)]

    async def close(self) -> None:
        for sub in list(self.subs.values()):
            sub.closed = True
        self.subs.clear()
        with contextlib.suppress(Exception):
            await self.stack.aclose()
        if self._filler is not None:
            self._filler.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._filler

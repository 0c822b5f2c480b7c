"""One bounded outbound queue per connection, written directly when it can be.

Fan-out only ever calls `offer`, which never awaits: a slow socket cannot hold up the
room or the other recipients. `offer` queues the frame and marks the connection; once
per turn of the event loop one callback (`Flusher`) writes each marked connection's
frames straight to its socket when it takes data now (`DirectWriter.ready`): no task
wakes up per recipient, and the events committed together (a group commit) leave in
one write per connection, joined with `\\n` into one WebSocket message (bounded by
`MAX_BATCH_CHARS`). A socket that is paused gets a writer task, created only then,
which awaits it. One queue, taken from the front by one of them at a time: order holds.

Under fan-out load the flush is paced (`Flusher.linger`): after a flush that carried a
room event to `FANOUT` subscribers or more (the hub says so, `Flusher.fanned`), the next
waits until `linger` has passed since that one began. The events of a busy room that
arrive meanwhile then leave together, one write (one send() to the kernel) per
connection instead of one per event, and the joined text is built once for all
recipients. A quiet server, or one writing to few, writes at once.

Overflow policy, when a client reads more slowly than it is sent to:
1. ephemeral frames (typing, presence) already queued are dropped first, and an
   ephemeral frame that does not fit is dropped at once: they are worth nothing late;
2. if room events still do not fit, the connection is closed with 1013 (try again
   later). Nothing is lost: the client reconnects and subscribes with `since` = the last
   seq it saw, and the backlog comes from the database, not from this queue;
3. a connection whose socket has been backed up (frames waiting on a paused transport)
   for longer than the lag allowed (`ws_max_lag_seconds`) is closed with 1013 as well, by
   the Realtime's once-a-second sweep of `BACKED_UP`, before its queue is full: past
   capacity the slowest are shed while the rest keep their latency. Each of these closes
   is counted by reason (`werkplaats_ws_shed`).
Closing must not wait on the stuck socket either: after `CLOSE_TIMEOUT` the transport is
aborted. So a connection never holds more than the queue, plus what the transport
buffers before it pauses, plus one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from chat import metrics
from chat.metrics import TALLY

log = logging.getLogger("werkplaats.ws")

# Room events a connection may have waiting (default of `ws_queue_frames`). A backlog is fed
# in with `put` (which waits for room), so this only needs to absorb bursts of live traffic.
MAX_QUEUED_FRAMES = 2000
MAX_QUEUED_CHARS = 4 * 1024 * 1024
# One WebSocket message holds at most this many characters (≤ 256 KiB of UTF-8), well
# under the 1 MiB that client libraries accept by default.
MAX_BATCH_CHARS = 64 * 1024
# A room event for this many subscribers is a fan-out: the flush after it is paced.
FANOUT = 64
# `put` waits until the queue is below this share of its limits.
LOW_WATER = 0.5
CLOSE_TIMEOUT = 2.0

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_RESTART = 1012
CLOSE_TRY_AGAIN = 1013

# Why a connection was shed with 1013 (the label of `werkplaats_ws_shed`).
SHED_QUEUE_FULL = "queue_full"
SHED_LAG = "lag"
SHED_BUFFERED = "buffered"


def fitting(frames: Sequence[str]) -> tuple[int, int]:
    """How many of `frames`, from the first, one WebSocket message holds joined with `\\n`
    (at least one), and their characters with a separator each."""
    count = size = 0
    for frame in frames:
        if count and size + len(frame) + 1 > MAX_BATCH_CHARS:
            break
        count += 1
        size += len(frame) + 1
    return count, size


class Socket(Protocol):
    """What the connection needs from the WebSocket (the web layer adapts Starlette's)."""

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...

    def abort(self) -> None: ...


class DirectWriter(Protocol):
    """A synchronous way to the socket: a text message written now, without a task."""

    def ready(self) -> bool:
        """True when a message written now goes out as is: open, not paused, not closing."""
        ...

    def write_text(self, data: str) -> None: ...


class DirectSocket(Socket, Protocol):
    def direct(self) -> DirectWriter | None:
        """The direct writer of this socket, or None when the server offers none."""
        ...


class Outbound:
    """The queue and writer of one connection."""

    __slots__ = (
        "_closer",
        "_direct",
        "_dirty",
        "_flusher",
        "_on_closed",
        "_room",
        "_started",
        "_task",
        "backed_since",
        "chars",
        "close_code",
        "closing",
        "frames",
        "max_frames",
        "socket",
    )

    def __init__(
        self,
        socket: Socket,
        on_closed: Callable[[], Awaitable[None]] | None = None,
        max_frames: int = MAX_QUEUED_FRAMES,
        flusher: Flusher | None = None,
    ) -> None:
        self.socket = socket
        self._flusher = flusher or UNPACED
        self.max_frames = max_frames
        # A list, not a deque: an empty deque costs ~600 bytes on every idle connection.
        # Plain `str`s: a tuple per frame is a GC-tracked allocation, so more collections.
        # Ephemeral frames are marked by their type (`Ephemeral`).
        self.frames: list[str] = []
        self.chars = 0
        self.closing = False
        self.close_code: int | None = None
        # When frames began to wait on a paused socket (monotonic); None while it keeps up.
        self.backed_since: float | None = None
        self._started = False
        self._direct: DirectWriter | None = None
        # The writer: only while frames wait (or a batch is being written).
        self._task: asyncio.Task[None] | None = None
        # Marked for this turn's flush.
        self._dirty = False
        self._closer: asyncio.Task[None] | None = None
        # Made by the first `put` that has to wait for room.
        self._room: asyncio.Event | None = None
        self._on_closed = on_closed

    def start(self) -> None:
        """Start writing: what was offered before goes out first."""
        self._started = True
        direct = getattr(self.socket, "direct", None)
        if direct is not None:
            self._direct = direct()
        self._kick()

    def offer(self, frame: str, ephemeral: bool = False) -> bool:
        """Queue a frame without waiting; apply the overflow policy when full."""
        queue = self.frames
        if not queue and not self._dirty and self._task is None and self._started:
            # The fan-out's usual case, inlined (a call per delivery saved): an idle
            # connection gets the frame and is marked for this turn's flush.
            if self.closing:
                return False
            queue.append(Ephemeral(frame) if ephemeral else frame)
            self.chars = len(frame)
            self._dirty = True
            self._flusher.add(self)
            return True
        if self.closing:
            return False
        if self._full(len(frame)):
            self._drop_ephemeral()
            if ephemeral or self._full(len(frame)):
                if ephemeral:
                    TALLY.overflow_drops += 1
                else:
                    log.info(
                        "ws: client too slow (%d frames queued); closing 1013", len(self.frames)
                    )
                    self.shed(SHED_QUEUE_FULL)
                return False
        self._append(frame, ephemeral)
        return True

    async def put(self, frame: str, still_wanted: Callable[[], bool] | None = None) -> bool:
        """Queue a frame, waiting while the queue is over its low-water mark."""
        while not self.closing and self._over_low_water():
            if self._room is None:
                self._room = asyncio.Event()
            self._room.clear()
            await self._room.wait()
        if self.closing or (still_wanted is not None and not still_wanted()):
            return False
        self._append(frame, False)
        return True

    async def put_all(
        self, frames: Sequence[str], still_wanted: Callable[[], bool] | None = None
    ) -> bool:
        """`put` of each frame in order, awaiting only when the queue is over its low-water
        mark: a backlog of 100 events took 100 awaits per subscribe. Between awaits nothing
        else runs, so what `put` checks (closing, still wanted) cannot change."""
        count = len(frames)
        i = 0
        while i < count:
            if not await self.put(frames[i], still_wanted):
                return False
            i += 1
            queue = self.frames
            while i < count and not self._over_low_water():
                frame = frames[i]
                queue.append(frame)
                self.chars += len(frame)
                i += 1
        return True

    def _append(self, frame: str, ephemeral: bool) -> None:
        self.frames.append(Ephemeral(frame) if ephemeral else frame)
        self.chars += len(frame)
        self._kick()

    def _kick(self) -> None:
        if self._started and not self._dirty and self._task is None and not self.closing:
            self._dirty = True
            self._flusher.add(self)

    def shed(self, reason: str) -> None:
        """Close with 1013 because the server cannot keep up with this client; counted."""
        if not self.closing:
            metrics.shed(reason)
            self.close(CLOSE_TRY_AGAIN, "too slow; resume from your last seq")

    def _flush(self) -> None:
        """Write what is queued now if the socket takes it; else leave it to a writer."""
        self._dirty = False
        frames = self.frames
        if self._task is not None or self.closing or not frames:
            return
        direct = self._direct
        try:
            if direct is None:
                pass
            elif len(frames) == 1 and self._room is None and type(frames[0]) is str:
                # One live event and nobody waiting for room: the usual case, written with
                # no batch to build (the same str for every recipient: framed once).
                if direct.ready():
                    direct.write_text(frames.pop())
                    self.chars = 0
                    TALLY.frames_sent += 1
                    return
            else:
                while frames and direct.ready():
                    direct.write_text(self._take_batch())
        except Exception as exc:
            log.debug("ws: direct write failed: %r", exc)
            self.closing = True
            self._wake_put()
            return
        if frames:
            self._task = asyncio.create_task(self._write(), name="ws-writer")
            if self.backed_since is None:
                self.backed_since = time.monotonic()
                BACKED_UP.add(self)

    def _full(self, extra: int) -> bool:
        return len(self.frames) >= self.max_frames or self.chars + extra > MAX_QUEUED_CHARS

    def _over_low_water(self) -> bool:
        return (
            len(self.frames) >= self.max_frames * LOW_WATER
            or self.chars >= MAX_QUEUED_CHARS * LOW_WATER
        )

    def _drop_ephemeral(self) -> None:
        kept = [f for f in self.frames if type(f) is not Ephemeral]
        if len(kept) != len(self.frames):
            TALLY.overflow_drops += len(self.frames) - len(kept)
            self.frames = kept
            self.chars = sum(len(f) for f in kept)

    def _wake_put(self) -> None:
        if self._room is not None:
            self._room.set()

    def _take_batch(self) -> str:
        frames = self.frames
        if len(frames) == 1:
            # The usual case: one event, the same str object for every recipient (so its
            # WebSocket frame is built once), taken without allocating anything.
            if type(frames[0]) is Ephemeral:
                # An activity text may hold several frames already joined.
                batch = str(frames.pop())
                TALLY.frames_sent += batch.count("\n") + 1
            else:
                batch = frames.pop()
                TALLY.frames_sent += 1
            self.chars = 0
        else:
            count, size = fitting(frames)
            batch, sent = _joined.of(frames[:count])
            del frames[:count]
            self.chars -= size - count
            TALLY.frames_sent += sent
        if self._room is not None and not self._over_low_water():
            self._room.set()
        return batch

    async def _write(self) -> None:
        try:
            while self.frames and not self.closing:
                batch = self._take_batch()
                direct = self._direct
                if direct is not None and direct.ready():
                    direct.write_text(batch)
                else:
                    # Paused (or no direct path): the socket's own send waits for room.
                    await self.socket.send_text(batch)
            self._caught_up()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The peer is gone; the reader sees the disconnect and cleans up.
            log.debug("ws: writer stopped: %r", exc)
            self.closing = True
            self._wake_put()
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    def _caught_up(self) -> None:
        if self.backed_since is not None:
            self.backed_since = None
            BACKED_UP.discard(self)

    def close(self, code: int, reason: str) -> None:
        """Close the connection (once) without waiting for the socket; see the policy above."""
        if self.closing:
            return
        # What is queued and the socket takes now goes out before the close frame: e.g. the
        # `error` answers to the bad frames that led to a 1008. The rest is dropped.
        direct = self._direct
        with contextlib.suppress(Exception):
            while self._task is None and self.frames and direct is not None and direct.ready():
                direct.write_text(self._take_batch())
        self.closing = True
        self._caught_up()
        self.close_code = code
        self.frames.clear()
        self.chars = 0
        self._wake_put()
        self._closer = asyncio.create_task(self._close(code, reason), name="ws-closer")

    async def _close(self, code: int, reason: str) -> None:
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.socket.close(code, reason)
        except TimeoutError:
            log.info("ws: close frame could not be written in %.0fs; aborting", CLOSE_TIMEOUT)
            self.socket.abort()
        except Exception as exc:
            log.debug("ws: close failed: %r", exc)
        if self._on_closed is not None:
            await self._on_closed()

    async def stop(self) -> None:
        """Stop the writer (the connection is over)."""
        self.closing = True
        self._caught_up()
        self._wake_put()
        for task in (self._task, self._closer):
            if task is not None and task is not asyncio.current_task():
                if task is self._task:
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


class Ephemeral(str):
    """A queued frame that may be dropped when the queue is full (typing, presence)."""

    __slots__ = ()


class _Joined:
    """The last batch joined: a paced fan-out offers the same frames (the same str objects)
    to every recipient, so their joined text is built once and, being the same object,
    framed once (`web.internals.text_frame`)."""

    __slots__ = ("frames", "sent", "text")

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.text = ""
        self.sent = 0

    def of(self, frames: list[str]) -> tuple[str, int]:
        """The frames joined with `\\n`, and how many frames that text holds."""
        last = self.frames
        if len(last) == len(frames) and all(a is b for a, b in zip(last, frames, strict=True)):
            return self.text, self.sent
        self.frames = frames
        self.text = "\n".join(frames)
        # An activity text may hold several frames already joined.
        self.sent = self.text.count("\n") + 1
        return self.text, self.sent


_joined = _Joined()


class Flusher:
    """Runs `Outbound._flush` once per turn of the event loop for the connections that
    were offered frames during it (one callback, not one task per connection), paced
    under fan-out load by `linger` seconds (see the module docstring; 0: never)."""

    __slots__ = ("fanned", "hold_until", "linger", "loop", "pending", "scheduled")

    def __init__(self, linger: float = 0.0) -> None:
        self.linger = linger
        # Set by a hub that offered an event to FANOUT subscribers or more since the last run:
        # replies and small rooms alone (a burst of acks) never pace the flush.
        self.fanned = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: list[Outbound] = []
        self.scheduled = False
        self.hold_until = 0.0

    def add(self, out: Outbound) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            # A new event loop (tests run several): nothing of the old one carries over.
            self.loop, self.pending, self.scheduled, self.hold_until = loop, [], False, 0.0
        self.pending.append(out)
        if not self.scheduled:
            self.scheduled = True
            if loop.time() < self.hold_until:
                loop.call_at(self.hold_until, self.run)
            else:
                loop.call_soon(self.run)

    def run(self) -> None:
        self.scheduled = False
        pending, self.pending = self.pending, []
        if self.fanned:
            self.fanned = False
            if self.linger:
                assert self.loop is not None
                self.hold_until = self.loop.time() + self.linger
        for out in pending:
            out._flush()


# Outbounds made without a flusher of their own (tests, benches) write every turn.
UNPACED = Flusher()
# The connections whose frames wait on a paused socket now (see `backed_since`): what the
# Realtime's sweep looks at, so that it never walks every idle connection.
BACKED_UP: set[Outbound] = set()

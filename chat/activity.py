"""Live activity of the rooms a connection is not subscribed to: the `activity` frame.

A client subscribes to the room it shows; every other room it may read still needs its
unread and mention counts live. Each committed message becomes a small note (room, seq,
author, the usernames it mentions) that the committing process handles at once and
publishes on one broker channel for the others. Every process collects the notes it gets
and, every `ACTIVITY_EVERY`, flushes them: one database call reads the rooms' access facts
and bans (persistence/activity_facts.py), `rooms.access.may_read` judges each local
connection that is not subscribed to the room, and each reader gets one frame per room
with the seqs of the new messages by others and of those that mention them. No per-reader
query and no per-message frame: a room with 500 readers costs one read and at most one
frame per reader per flush.

The frame carries seqs, not counts, so a client counts each message once whatever the
order, the overlap with its room list or with a subscription's own events (web client:
static/js/activity.js). Notes are at-most-once like every broker message: a note lost to
a broker outage or a frame dropped from a full queue (they are ephemeral) is corrected by
the room list that every reconnect brings (`hello`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

import msgspec

from chat import frames
from chat.clock import Clock
from chat.ports import Conn
from persistence import handshake
from persistence.activity_facts import read_room_readers
from persistence.db import Database
from persistence.models import utcnow
from rooms.access import may_read
from rooms.conversations import mentions_reader
from rooms.model import RoomKind, RoomRef

log = logging.getLogger("werkplaats.activity")

# How long notes are collected before a flush: frames stay well within a second, and a
# busy room sends a reader at most four frames a second.
ACTIVITY_EVERY = 0.25
# A flush's fan-out may take at most this share of the event loop: a process with many
# readers of many busy rooms flushes less often rather than stall the rooms themselves.
LOOP_SHARE = 0.1
# Reader-room pairs judged between two yields to the event loop.
CHUNK = 2_000
# Seqs one frame lists at most (per list); beyond that the frame says `resync` instead
# (a client then reads its room list once).
MAX_SEQS = 200


class Note(msgspec.Struct, array_like=True):
    """A committed message as the activity channel carries it."""

    origin: str
    room: str
    seq: int
    author: str
    mentions: list[str]


class Registry(Protocol):
    """The process's open connections by user (the Realtime)."""

    db: Database
    clock: Clock
    by_user: dict[int, set[Conn]]


class ActivityFeed:
    """Collects message notes per room and flushes them as `activity` frames."""

    def __init__(self, rt: Registry) -> None:
        self.rt = rt
        self.pending: dict[str, list[Note]] = {}
        self.flusher: asyncio.Task[None] | None = None

    def add(self, note: Note) -> None:
        """A message was committed (here or elsewhere): tell the readers within a flush."""
        self.pending.setdefault(note.room, []).append(note)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._run(), name="activity-flush")

    async def stop(self) -> None:
        if self.flusher is not None:
            self.flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.flusher

    async def _run(self) -> None:
        # Loops while notes keep coming, so notes added during a flush get the next one.
        interval = ACTIVITY_EVERY
        while self.pending:
            await self.rt.clock.sleep(interval)
            batch, self.pending = self.pending, {}
            try:
                busy = await self.flush(batch)
            except Exception:
                # Counts catch up with the next room list (reconnect); never a crash here.
                log.exception("activity: flushing %d rooms failed", len(batch))
                busy = 0.0
            interval = max(ACTIVITY_EVERY, busy / LOOP_SHARE)

    async def flush(self, batch: dict[str, list[Note]]) -> float:
        """One read for all the rooms, then one frame per room per reader who may read it;
        returns the seconds the fan-out held the event loop."""
        # Only a connection not subscribed to a room is told of it: in a busy room nearly
        # every connection here is subscribed, and then there is nothing to read.
        batch = {slug: notes for slug, notes in batch.items() if self._outside(slug)}
        if not batch:
            return 0.0
        readers = await handshake.run(self.rt.db, read_room_readers, list(batch))
        now = utcnow()
        active = [
            _Active(slug, ref, sorted(notes, key=lambda n: n.seq))
            for slug, notes in batch.items()
            if (ref := readers.rooms.get(slug)) is not None
        ]
        bans = readers.bans
        busy, started, judged = 0.0, time.perf_counter(), 0
        for user_id, conns in list(self.rt.by_user.items()):
            for conn in list(conns):
                if conn.closed:
                    continue
                subs, actor = conn.subs, conn.actor
                for room in active:
                    ref = room.ref
                    if room.slug in subs or not may_read(
                        actor, ref, bans.get((ref.id, user_id)), now
                    ):
                        continue
                    sent = room.frame_for(conn)
                    if sent:
                        conn.outbound.offer(sent, ephemeral=True)
                judged += len(active)
            if judged >= CHUNK:
                busy += time.perf_counter() - started
                await asyncio.sleep(0)
                started, judged = time.perf_counter(), 0
        return busy + time.perf_counter() - started

    def _outside(self, slug: str) -> bool:
        """Whether a connection of this process is not subscribed to the room."""
        return any(slug not in conn.subs for conns in self.rt.by_user.values() for conn in conns)


class _Active:
    """A room's notes of one flush, and the frame every reader gets who wrote none of them
    and whom none can mention: encoded once, not once per reader."""

    __slots__ = ("authors", "notes", "personal", "ref", "shared", "slug")

    def __init__(self, slug: str, ref: RoomRef, notes: list[Note]) -> None:
        self.slug, self.ref, self.notes = slug, ref, notes
        self.authors = {n.author for n in notes}
        # A mention may name a group (a layer, the area team): who it reaches is per reader.
        self.personal = any(n.mentions for n in notes)
        self.shared: str | None = None

    def frame_for(self, conn: Conn) -> str:
        if self.personal or conn.username in self.authors:
            team = self.ref.kind is RoomKind.AREA and self.ref.id in conn.actor.area_room_ids
            return _frame(self.slug, self.notes, conn.username, conn.author.layer, team)
        if self.shared is None:
            self.shared = _frame(self.slug, self.notes, "", "", False)
        return self.shared


def _frame(slug: str, notes: list[Note], username: str, layer: str, area_team: bool) -> str:
    """The reader's frame, or "" when nothing in the notes is new to them (their own).
    A mention counts by name or through a group of the reader's (`mentions_reader`)."""
    last = notes[-1].seq
    unread = [n.seq for n in notes if n.author != username]
    if not unread:
        return ""
    mentions = [
        n.seq
        for n in notes
        if n.author != username and mentions_reader(n.mentions, username, layer, area_team)
    ]
    if len(unread) > MAX_SEQS or len(mentions) > MAX_SEQS:
        return frames.encode(frames.Activity(room=slug, last_seq=last, unread=[], resync=True))
    return frames.encode(
        frames.Activity(room=slug, last_seq=last, unread=unread, mentions=mentions)
    )

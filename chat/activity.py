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
from datetime import datetime
from typing import Protocol

import msgspec

from chat import frames
from chat.clock import Clock
from chat.outbound import fitting
from chat.ports import Conn
from persistence import handshake
from persistence.activity_facts import read_room_readers
from persistence.db import Database
from persistence.models import utcnow
from rooms.access import may_read, open_to_all
from rooms.conversations import mentions_reader
from rooms.model import Restriction, RoomKind, RoomRef

log = logging.getLogger("werkplaats.activity")

# How long notes are collected before a flush: frames stay well within a second, and a
# busy room sends a reader at most four frames a second.
ACTIVITY_EVERY = 0.25
# A flush's fan-out may take at most this share of the event loop: a process with many
# readers of many busy rooms flushes less often rather than stall the rooms themselves.
LOOP_SHARE = 0.1
# Reader-room pairs judged between two yields to the event loop.
CHUNK = 2_000
# What a connection given frames counts towards `CHUNK`: its socket is written in the
# same turn of the loop, and a write costs about as much as this many judgements.
CONN_WORK = 20
# A yield sleeps this long rather than not at all: with nothing else to run the event
# loop then blocks in its poll, and a thread waiting for the GIL (the SQLite writer's,
# between two statements of a send) takes it at once instead of after the switch interval;
# and a flush's writes go out in slices a few milliseconds apart, not in one burst.
YIELD_NAP = 0.005
# Once a flush has napped this long in all, its yields nap only `SHORT_NAP` (the writer's
# share of the GIL): the slicing makes frames later by at most this, so they still come
# within about a quarter of a second (docs/protocol.md).
NAP_BUDGET = ACTIVITY_EVERY / 5
SHORT_NAP = 0.001
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
        bans = readers.bans
        banned_rooms = {room_id for room_id, _ in bans}
        plain: list[_Active] = []
        judged: list[_Active] = []
        for slug, notes in batch.items():
            ref = readers.rooms.get(slug)
            if ref is None:
                continue
            room = _Active(slug, ref, sorted(notes, key=lambda n: n.seq))
            is_plain = not room.mentions and ref.id not in banned_rooms and open_to_all(ref)
            (plain if is_plain else judged).append(room)
        common = _Common(plain)
        busy, started, work, napped = 0.0, time.perf_counter(), 0, 0.0
        for user_id, conns in list(self.rt.by_user.items()):
            for conn in list(conns):
                if conn.closed:
                    continue
                texts = common.texts_for(conn, user_id)
                if judged:
                    texts = texts + _judged_frames(conn, user_id, judged, bans, now)
                outbound = conn.outbound
                for text in texts:
                    outbound.offer(text, ephemeral=True)
                work += len(judged) + (CONN_WORK if texts else 0)
            if work >= CHUNK:
                busy += time.perf_counter() - started
                nap = YIELD_NAP if napped < NAP_BUDGET else SHORT_NAP
                napped += nap
                await asyncio.sleep(nap)
                started, work = time.perf_counter(), 0
        return busy + time.perf_counter() - started

    def _outside(self, slug: str) -> bool:
        """Whether a connection of this process is not subscribed to the room."""
        return any(slug not in conn.subs for conns in self.rt.by_user.values() for conn in conns)


class _Active:
    """A room's notes of one flush, and the frame every reader gets who wrote none of them
    and whom none mentions: encoded once, not once per reader; the frame of a reader who
    did, once per user, not once per connection."""

    __slots__ = ("authors", "mentions", "notes", "ref", "shared", "slug", "users")

    def __init__(self, slug: str, ref: RoomRef, notes: list[Note]) -> None:
        self.slug, self.ref, self.notes = slug, ref, notes
        self.authors = {n.author for n in notes}
        # All the names the notes mention: a reader none of them mentions (a mention may
        # name a group: a layer, the area team) gets the shared frame.
        self.mentions = frozenset(name for n in notes for name in n.mentions)
        self.shared: str | None = None
        self.users: dict[int, str] = {}

    def frame_for(self, conn: Conn, user_id: int) -> str:
        username = conn.username
        team = self.ref.kind is RoomKind.AREA and self.ref.id in conn.actor.area_room_ids
        layer = conn.author.layer
        if username in self.authors or (
            self.mentions and mentions_reader(self.mentions, username, layer, team)
        ):
            text = self.users.get(user_id)
            if text is None:
                text = self.users[user_id] = _frame(self.slug, self.notes, username, layer, team)
            return text
        return self.shared_frame()

    def shared_frame(self) -> str:
        if self.shared is None:
            self.shared = _frame(self.slug, self.notes, "", "", False)
        return self.shared


class _Common:
    """The rooms of a flush that every connection not subscribed to them may read and
    whose notes mention nobody: each connection gets their shared frames joined into one
    text (`\\n`, as one WebSocket message carries several frames), built once for every
    connection that leaves out the same of these rooms."""

    __slots__ = ("index", "rooms", "texts", "wrote")

    def __init__(self, rooms: list[_Active]) -> None:
        self.rooms = rooms
        self.index = {room.slug: i for i, room in enumerate(rooms)}
        # The rooms each author wrote in: their own frame leaves their messages out.
        self.wrote: dict[str, list[int]] = {}
        for i, room in enumerate(rooms):
            for author in room.authors:
                self.wrote.setdefault(author, []).append(i)
        self.texts: dict[tuple[int, ...], list[str]] = {}

    def texts_for(self, conn: Conn, user_id: int) -> list[str]:
        """What the connection gets of these rooms: the shared text, and its own frames."""
        if not self.rooms:
            return []
        subs, index = conn.subs, self.index
        if len(subs) < len(index):
            left_out = {i for slug in subs if (i := index.get(slug)) is not None}
        else:
            left_out = {i for slug, i in index.items() if slug in subs}
        own = self.wrote.get(conn.username)
        if own is None:
            return self._shared(tuple(sorted(left_out)))
        texts = list(self._shared(tuple(sorted(left_out.union(own)))))
        for i in own:
            if i not in left_out and (text := self.rooms[i].frame_for(conn, user_id)):
                texts.append(text)
        return texts

    def _shared(self, left_out: tuple[int, ...]) -> list[str]:
        texts = self.texts.get(left_out)
        if texts is None:
            skip = set(left_out)
            frames_ = [room.shared_frame() for i, room in enumerate(self.rooms) if i not in skip]
            texts = self.texts[left_out] = _joined(frames_)
        return texts


def _joined(frames_: list[str]) -> list[str]:
    """The frames joined with `\\n`, in as few texts as stay within one WebSocket message."""
    texts: list[str] = []
    while frames_:
        count, _ = fitting(frames_)
        texts.append("\n".join(frames_[:count]))
        frames_ = frames_[count:]
    return texts


def _judged_frames(
    conn: Conn,
    user_id: int,
    rooms: list[_Active],
    bans: dict[tuple[int, int], Restriction],
    now: datetime,
) -> list[str]:
    """The connection's frames of rooms whose readers `may_read` judges one by one."""
    subs, actor = conn.subs, conn.actor
    texts = []
    for room in rooms:
        ref = room.ref
        if room.slug in subs or not may_read(actor, ref, bans.get((ref.id, user_id)), now):
            continue
        text = room.frame_for(conn, user_id)
        if text:
            texts.append(text)
    return texts


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

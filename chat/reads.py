"""What the real-time side reads from the database, one read transaction per call.

Every function checks access itself, inside its transaction, so a ban or a lock that was
committed before is always honoured (the contract's "access checked on every frame").
The writes (`send`, `edit`, …) are in `chat.store`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Set
from dataclasses import dataclass, replace

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncSession

from chat.coalesce import SharedNextRead
from chat.frames import encode, event_frame
from persistence import handshake
from persistence.backlog import read_events
from persistence.db import Database
from persistence.events import StoredEvent, events_page, iso
from persistence.handshake import RoomAccess, RoomListing
from persistence.models import Event, Room, utcnow
from persistence.rooms import ban_of, room_by_slug, room_ref
from rooms.access import check_read, may_read, sanctions_bind
from rooms.errors import NotFound
from rooms.model import SLUG_RE, Actor


async def room_or_404(session: AsyncSession, slug: str) -> Room:
    room = await room_by_slug(session, slug) if SLUG_RE.fullmatch(slug) else None
    if room is None:
        raise NotFound(f"no room {slug!r}")
    return room


async def readable_room(session: AsyncSession, actor: Actor, slug: str) -> Room:
    room = await room_or_404(session, slug)
    check_read(actor, room_ref(room), await ban_of(session, room.id, actor.user_id), utcnow())
    return room


async def hello_rooms(db: Database, actor: Actor, layer: str) -> list[RoomListing]:
    """The rooms of `hello` and GET /api/rooms for the actor of this layer."""
    meetings = db.part(handshake.MeetingsRead)
    return await handshake.run(db, handshake.read_room_list, actor, utcnow(), meetings, layer)


async def fresh_actor(db: Database, user_id: int) -> Actor | None:
    return await handshake.run(db, handshake.read_actor, user_id)


async def session_alive(db: Database, token_hash: str) -> bool:
    return await handshake.run(db, handshake.read_login, token_hash, utcnow()) is not None


async def live_tokens(db: Database, token_hashes: list[str]) -> set[str]:
    """Which of these session token hashes are still valid (unexpired, unrevoked)."""
    async with db.read() as session:
        return await handshake.live_tokens(session, token_hashes, utcnow())


def _readable_access(conn: Connection, actor: Actor, slug: str) -> RoomAccess:
    """`readable_room` in one statement: the room's access facts, or Forbidden or NotFound."""
    found = (
        handshake.read_room_access(conn, slug, actor.user_id) if SLUG_RE.fullmatch(slug) else None
    )
    return _checked(actor, slug, found)


def _checked(actor: Actor, slug: str, found: RoomAccess | None) -> RoomAccess:
    """The room's access facts if the actor may read it now; else Forbidden or NotFound."""
    if found is None:
        raise NotFound(f"no room {slug!r}")
    check_read(actor, found.ref, found.ban, utcnow())
    return found


async def check_readable(db: Database, actor: Actor, slug: str) -> int:
    """The room's id if the actor may read it now; else Forbidden or NotFound."""
    return (await handshake.run(db, _readable_access, actor, slug)).ref.id


async def may_read_now(db: Database, actor: Actor, slug: str) -> bool:
    found = await handshake.run(db, handshake.read_room_access, slug, actor.user_id)
    return found is not None and may_read(actor, found.ref, found.ban, utcnow())


@dataclass(frozen=True, slots=True)
class Backlog:
    frames: list[str]  # encoded, in seq order
    last_seq: int
    first_seq: int | None  # set when truncated
    # the subscriber's own posting state (`subscribed`): the end of a mute that binds them
    muted_until: str | None = None
    slow_mode_seconds: int = 0


class RecentBacklogs:
    """Backlogs read in the last second, encoded, by (room id, after, upto): a reconnect
    storm after a restart asks for the same range a thousand times (everyone who was live
    left at the same seq), and reading and encoding it once instead of a thousand times
    was a fifth of a herd's CPU.

    Every change to what a backlog shows that is a room event (message, edit, hide,
    settings) moves the room's `last_seq`, so a request made after it has another `upto`
    and another key: it never gets the old range. What changes without an event (a
    profile's name or organisation, the retention purge, pseudonymisation) can be served
    up to `TTL` late, as it would be to a request that was that much earlier. Access is
    checked for every request before the cache is asked. On SQLite both the event loop and
    the reader thread use it (`handshake.run_off_loop`), hence the lock.
    """

    TTL = 1.0
    SIZE = 32

    def __init__(self) -> None:
        self.entries: OrderedDict[tuple[int, int, int], tuple[float, list[str]]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[int, int, int]) -> list[str] | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            if time.monotonic() - found[0] > self.TTL:
                del self.entries[key]
                return None
            return found[1]

    def put(self, key: tuple[int, int, int], frames: list[str]) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic(), frames)
            self.entries.move_to_end(key)
            while len(self.entries) > self.SIZE:
                self.entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class BacklogRequest:
    """A subscriber's backlog to read: every event of `slug` after `since`, or the newest
    `cap`; None instead when more than `longest` events would have to be read."""

    actor: Actor
    slug: str
    since: int | None
    cap: int
    recent: RecentBacklogs
    longest: int | None = None


async def backlog(db: Database, actor: Actor, slug: str, since: int | None, cap: int) -> Backlog:
    """Every event after `since` up to the room's seq now, or the newest `cap` of them.

    Access and the room's seq are read first, then the events up to that seq (none to
    read when there is nothing to send, or when the same range was read in the last
    second: `RecentBacklogs`). On SQLite that is one read transaction, as one call; a
    range of more than `LONG_BACKLOG` events to read is read off the event loop (the
    reader thread). On PostgreSQL the access read is shared with the room's other
    subscribers of the moment (`AccessReads`), not one round trip per subscriber.
    """
    recent = db.part(RecentBacklogs)
    if db.is_sqlite:
        ask = BacklogRequest(actor, slug, since, cap, recent, LONG_BACKLOG)
        found = await handshake.run(db, _backlog, ask)
        if found is None:
            found = await handshake.run_off_loop(db, _backlog, replace(ask, longest=None))
        assert found is not None
        return found
    if not SLUG_RE.fullmatch(slug):
        raise NotFound(f"no room {slug!r}")
    room = _checked(actor, slug, await db.part(AccessReads, db).read(slug, actor.user_id))
    ask = BacklogRequest(actor, slug, since, cap, recent)
    found = _backlog_of(None, room, ask)
    if found is None:
        found = await handshake.run(db, _backlog_of, room, ask)
        assert found is not None
    return found


class AccessReads:
    """PostgreSQL: the access facts of a room read once for all of its subscribers of the
    moment, each with their own ban and mute (`handshake.read_room_access_of`).

    A subscriber's read begins after it asked: those that ask while a room's read is
    under way share the next one, which starts when that one ends (one read per room at a
    time, `SharedNextRead`), so a ban or a lock committed before a `subscribe` is always
    seen by it. One per database (`Database.part`).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.shared: SharedNextRead[str, int, dict[int, RoomAccess]] = SharedNextRead(
            self._read, name="access-read"
        )

    async def read(self, slug: str, user_id: int) -> RoomAccess | None:
        return (await self.shared.read(slug, user_id)).get(user_id)

    async def _read(self, slug: str, users: Set[int]) -> dict[int, RoomAccess]:
        return await handshake.run(self.db, handshake.read_room_access_of, slug, sorted(users))


# Reading and encoding an event costs about 10 µs: a longer read would hold the event loop
# for over a millisecond.
LONG_BACKLOG = 100


def _backlog(conn: Connection, ask: BacklogRequest) -> Backlog | None:
    """The backlog, or None if more than `ask.longest` events would have to be read."""
    return _backlog_of(conn, _readable_access(conn, ask.actor, ask.slug), ask)


def _backlog_of(conn: Connection | None, room: RoomAccess, ask: BacklogRequest) -> Backlog | None:
    """The backlog of the room whose access was checked; None if more than `ask.longest`
    events would have to be read, or anything at all without a connection."""
    since = ask.since
    last = room.last_seq
    state = _posting_state(ask.actor, room)
    if since is None or since >= last:
        return Backlog([], last, None, *state)
    start, first = since, None
    if last - since > ask.cap:
        if conn is None:
            return None
        # Seqs a restore skipped (`werkplaats restore`) hold no event: they do not count.
        if last - since - _skipped(conn, room.ref.id, since, last) > ask.cap:
            start = last - ask.cap
            first = start + 1
    key = (room.ref.id, start, last)
    frames = ask.recent.get(key)
    if frames is None:
        if conn is None or (ask.longest is not None and last - start > ask.longest):
            return None
        events = read_events(conn, room.ref.id, start, last)
        frames = [encode(event_frame(ask.slug, e)) for e in events]
        ask.recent.put(key, frames)
    if first is not None and frames:
        first = int(json.loads(frames[0])["seq"])  # `start` may lie among seqs a restore skipped
    return Backlog(frames, last, first, *state)


def _skipped(conn: Connection, room_id: int, since: int, last: int) -> int:
    """How many seqs in (since, last] a restore skipped (those before its `restored` events)."""
    found = conn.execute(
        select(Event.seq, Event.data).where(
            Event.room_id == room_id,
            Event.type == "restored",
            Event.seq > since,
            Event.seq <= last,
        )
    )
    return sum(
        max(0, seq - max(since, int((data or {}).get("after", seq - 1))) - 1) for seq, data in found
    )


def _posting_state(actor: Actor, room: RoomAccess) -> tuple[str | None, int]:
    """The end of the actor's mute if it binds them now, and the room's slow mode."""
    mute, now = room.mute, utcnow()
    muted = mute is not None and mute.active(now) and sanctions_bind(actor, room.ref)
    return (iso(mute.until) if muted and mute is not None else None), room.slow_mode_seconds


async def fetch_range(db: Database, slug: str, after: int, upto: int) -> list[StoredEvent]:
    """Events with after < seq ≤ upto, as served now (gap fills)."""
    async with db.read() as session:
        room = await room_or_404(session, slug)
        page, _ = await events_page(
            session, room.id, after=after, limit=max(1, min(1000, upto - after))
        )
    return [e for e in page if e.seq <= upto]


async def last_seqs(db: Database, slugs: list[str]) -> dict[str, int]:
    async with db.read() as session:
        rows = await session.execute(select(Room.slug, Room.last_seq).where(Room.slug.in_(slugs)))
        return {slug: int(seq) for slug, seq in rows.all()}


async def last_seq(db: Database, slug: str) -> int:
    return (await last_seqs(db, [slug])).get(slug, 0)

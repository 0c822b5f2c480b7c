"""What setting up a connection reads: the caller, the room list, a room's access, its backlog.

These run for every WebSocket upgrade, `hello` and `subscribe` (and every HTTP request's
authentication), so a herd of reconnecting clients pays them a thousand times at once.
They are SQLAlchemy Core statements on a plain connection returning plain rows: no ORM
identity map, no per-row objects, and as few statements as the answer allows.
What they return is exactly what the ORM versions (`persistence.accounts.live_session`,
`persistence.catchup.room_list`, `persistence.events.events_page`) return.

The reads are plain functions of a sync `Connection` (`read_*`), and `run` runs one, with
everything a step of set-up reads, as one call: on SQLite on the event loop itself, on a
pysqlite connection of its own (no thread hand-off: where aiosqlite cost about four per
statement and a reader thread one per call, a herd spent most of its time handing off;
`run_off_loop` takes the reader thread for a read that may be long), on PostgreSQL with
`run_sync` on a connection kept
for set-up reads, in autocommit (`_PgReaders`: one round trip per statement), at most
`HELD_READERS` at once so that a herd waits here (no timeout) and never for the
pool (30 s, then an error). The async `login`, `room_list`, … run the
same functions on a connection the caller already has.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import datetime
from operator import itemgetter
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import (
    Connection,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    column,
    create_engine,
    event,
    literal_column,
    make_url,
    null,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.db import HELD_READERS, SQLITE_BUSY_TIMEOUT_MS, Database
from persistence.events import iso
from persistence.models import (
    Ban,
    Meeting,
    Member,
    Membership,
    ReadMarker,
    Room,
    RoomModerator,
    Theme,
    User,
)
from persistence.models import Session as SessionRow
from persistence.prepared import Prepared
from rooms.access import area_rooms_open_to, may_read
from rooms.meetings import MeetingRef, meeting_for_room
from rooms.mentions import mentions
from rooms.model import Actor, Restriction, Role, RoomKind, RoomRef


def _reader_connect(dbapi_connection: Any, _record: Any) -> None:
    """The reader's connection: transactions are ours (BEGIN in `read`); the database is
    in WAL mode already (the writers' engines set it)."""
    dbapi_connection.isolation_level = None
    dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


P = ParamSpec("P")
T = TypeVar("T")


class _SqliteReader:
    """SQLite's set-up reads on connections of their own (WAL: never blocked by writers,
    never queued behind them in the writer thread), one kept per thread that reads.

    A read runs on the event loop itself (`read`), unless it may be long (`read_off_loop`:
    a backlog of hundreds of events nobody read in the last second), which runs in a
    thread of its own: a hand-off to a thread and back costs more CPU than a set-up read,
    and a herd makes two per client (docs/performance.md).
    """

    def __init__(self, url: str) -> None:
        self.engine = create_engine(
            make_url(url).set(drivername="sqlite+pysqlite"), hide_parameters=True
        )
        event.listen(self.engine, "connect", _reader_connect)
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
        # Kept checked out (a pool checkout per read costs more than it), one per thread:
        # a pysqlite connection belongs to the thread that made it.
        self.kept: dict[int, Connection] = {}

    def read(self, fn: Callable[[Connection], T]) -> T:
        conn = self.kept.get(threading.get_ident())
        if conn is None:
            conn = self.kept[threading.get_ident()] = self.engine.connect()
        driver: Any = conn.connection.driver_connection
        # One read transaction for the call, begun on the driver (through SQLAlchemy's
        # "begin" event it cost as much as a statement), rolled back when done.
        driver.execute("BEGIN")
        try:
            return fn(conn)
        except DBAPIError:
            # Whatever state the database left it in, the next read starts on a new one.
            self._close_here()
            raise
        finally:
            if not conn.closed:
                if conn.in_transaction():
                    conn.rollback()
                if driver.in_transaction:
                    driver.execute("ROLLBACK")

    async def read_off_loop(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.thread, self.read, fn)

    def _close_here(self) -> None:
        conn = self.kept.pop(threading.get_ident(), None)
        if conn is not None:
            conn.invalidate()  # never back into the pool: a connection per thread is kept
            conn.close()

    async def close(self) -> None:
        """With its database (`Database.on_dispose`), never from a garbage-collection
        finalizer: one that ran while this thread was inside an executor's `submit` took
        the executor's global lock a second time and hung the process (seen in CI)."""
        self._close_here()
        await asyncio.get_running_loop().run_in_executor(self.thread, self._close_here)
        await asyncio.get_running_loop().run_in_executor(self.thread, self.engine.dispose)
        self.thread.shutdown(wait=False)


class _PgReaders:
    """PostgreSQL: at most `HELD_READERS` set-up reads at once, each on a connection kept
    between uses, in autocommit (`Database.held`).

    Through the pool a one-statement read cost six round trips: the pre-ping (BEGIN, `;`,
    ROLLBACK, as SQLAlchemy's asyncpg adapter pings), then BEGIN, the statement, ROLLBACK.
    Under READ COMMITTED every statement takes its own snapshot anyway, so the transaction
    bought nothing, and the reads need none: `_unread`'s windows end at the `last_seq`s
    read before them, a backlog ends at the seq its access check read, and every seq up to
    a visible one is committed. Instead of the pre-ping, a kept connection that the server
    dropped (a restart) raises a disconnect error: it is thrown away and the read runs once
    more on a fresh one.
    """

    def __init__(self) -> None:
        self.gate = asyncio.Semaphore(HELD_READERS)

    async def run(self, db: Database, call: Callable[[Connection], T]) -> T:
        async with self.gate:
            try:
                async with db.held(autocommit=True) as conn:
                    return await conn.run_sync(call)
            except Exception as exc:
                if not db.is_disconnect(exc):
                    raise
            async with db.held(autocommit=True) as conn:
                return await conn.run_sync(call)


async def run(
    db: Database, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """`fn(conn, *args)` as one call (see above): on SQLite in one read transaction on the
    event loop (for reads of well under a millisecond), on PostgreSQL in autocommit."""
    return await _run(db, False, lambda conn: fn(conn, *args, **kwargs))


async def run_off_loop(
    db: Database, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """`run` for a read that may take milliseconds: on SQLite in the reader thread."""
    return await _run(db, True, lambda conn: fn(conn, *args, **kwargs))


async def _run(db: Database, off_loop: bool, call: Callable[[Connection], T]) -> T:
    if db.is_sqlite:
        reader = db.part(_sqlite_reader, db)
        return await reader.read_off_loop(call) if off_loop else reader.read(call)
    return await db.part(_PgReaders).run(db, call)


def _sqlite_reader(db: Database) -> _SqliteReader:
    reader = _SqliteReader(db.url)
    db.on_dispose(reader.close)
    return reader


# -- the caller --------------------------------------------------------------------------

# What a login carries of its user (`Member`), in its field order.
_USER_COLUMNS = [User.__table__.c[f.name] for f in fields(Member)]


@dataclass(frozen=True, slots=True)
class Login:
    """A live session: its user, permissions, expiry."""

    user: Member
    actor: Actor
    expires_at: datetime


def _login_statement() -> Any:
    """One statement: the session's user, then one row per area room and moderated room.

    Every branch looks the session up by its unique token hash with the same conditions,
    so revocation and expiry are exactly those of the session row read here.
    """
    live = and_(
        SessionRow.token_hash == bindparam("token_hash"),
        SessionRow.revoked_at.is_(None),
        SessionRow.expires_at > bindparam("now"),
    )
    # A disabled account's sessions authenticate nothing (they are also revoked on disable).
    user_of = and_(User.id == SessionRow.user_id, User.disabled_at.is_(None))
    head = (
        select(
            *_USER_COLUMNS,
            SessionRow.expires_at,
            literal_column("'u'", String),
            cast(null(), Integer),
        )
        .join_from(SessionRow, User, user_of)
        .where(live)
    )
    areas = (
        select(
            *_USER_COLUMNS, SessionRow.expires_at, literal_column("'a'", String), Membership.room_id
        )
        .join_from(SessionRow, User, user_of)
        .join(Membership, Membership.user_id == User.id)
        .join(Room, Room.id == Membership.room_id)
        .where(live)
    )
    moderated = (
        select(
            *_USER_COLUMNS,
            SessionRow.expires_at,
            literal_column("'m'", String),
            RoomModerator.room_id,
        )
        .join_from(SessionRow, User, user_of)
        .join(RoomModerator, RoomModerator.user_id == User.id)
        .where(live)
    )
    return head.union_all(areas, moderated)


# Built once: constructing a statement and its cache key costs more than running it.
_LOGIN = Prepared(_login_statement())


def _actor_of(user: Member, rows: Sequence[Any]) -> Actor:
    kind_at = len(_USER_COLUMNS) + 1
    return Actor(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        area_room_ids=frozenset(r[kind_at + 1] for r in rows if r[kind_at] == "a"),
        moderated_room_ids=frozenset(r[kind_at + 1] for r in rows if r[kind_at] == "m"),
    )


def read_login(conn: Connection, token_hash: str, now: datetime) -> Login | None:
    """The unexpired, unrevoked session with this token hash: its user and permissions."""
    rows = _LOGIN.rows(conn, {"token_hash": token_hash, "now": now})
    if not rows:
        return None
    first = rows[0]
    user = Member(*first[: len(_USER_COLUMNS)])
    return Login(user, _actor_of(user, rows), first[len(_USER_COLUMNS)])


def _actor_statement() -> Any:
    user = and_(User.id == bindparam("user_id"), User.disabled_at.is_(None))
    head = select(
        User.username, User.role, literal_column("'u'", String), cast(null(), Integer)
    ).where(user)
    areas = (
        select(User.username, User.role, literal_column("'a'", String), Membership.room_id)
        .join(Membership, Membership.user_id == User.id)
        .join(Room, Room.id == Membership.room_id)
        .where(user)
    )
    moderated = (
        select(User.username, User.role, literal_column("'m'", String), RoomModerator.room_id)
        .join(RoomModerator, RoomModerator.user_id == User.id)
        .where(user)
    )
    return head.union_all(areas, moderated)


_ACTOR = Prepared(_actor_statement())


def read_actor(conn: Connection, user_id: int) -> Actor | None:
    """The user's permissions now (role, area rooms, moderated rooms); None if gone or
    disabled."""
    rows = _ACTOR.rows(conn, {"user_id": user_id})
    if not rows:
        return None
    return Actor(
        user_id=user_id,
        username=rows[0][0],
        role=Role(rows[0][1]),
        area_room_ids=frozenset(r[3] for r in rows if r[2] == "a"),
        moderated_room_ids=frozenset(r[3] for r in rows if r[2] == "m"),
    )


# -- one room's access -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoomAccess:
    """A room's access facts and seq, and the caller's ban there (if any)."""

    ref: RoomRef
    last_seq: int
    ban: Restriction | None


_ROOM_ACCESS = Prepared(
    select(Room.id, Room.kind, Room.locked, Room.archived, Room.last_seq, Ban.room_id, Ban.until)
    .outerjoin(Ban, and_(Ban.room_id == Room.id, Ban.user_id == bindparam("user_id")))
    .where(Room.slug == bindparam("slug"))
)


def read_room_access(conn: Connection, slug: str, user_id: int) -> RoomAccess | None:
    """The room by slug with the user's ban, in one statement; None if there is no such room."""
    found = _ROOM_ACCESS.rows(conn, {"slug": slug, "user_id": user_id})
    if not found:
        return None
    row = found[0]
    rid, kind, locked, archived, last, banned, until = row
    ref = RoomRef(id=rid, slug=slug, kind=_KINDS[kind], locked=locked, archived=archived)
    return RoomAccess(ref, int(last), Restriction(until) if banned is not None else None)


# -- the room list -----------------------------------------------------------------------


# The room list's columns: a room, the user's read marker and ban there.
_ROOM_COLUMNS = (
    Room.id,
    Room.slug,
    Room.name,
    Room.kind,
    Room.topic,
    Room.last_seq,
    Room.locked,
    Room.archived,
    Room.theme_id,
    Room.meeting_id,
    ReadMarker.seq,
    Ban.room_id,
    Ban.until,
)
_ROOMS = Prepared(
    select(*_ROOM_COLUMNS)
    .outerjoin(
        ReadMarker, and_(ReadMarker.room_id == Room.id, ReadMarker.user_id == bindparam("user_id"))
    )
    .outerjoin(Ban, and_(Ban.room_id == Room.id, Ban.user_id == bindparam("user_id")))
    .order_by(Room.kind, Room.slug)
)


def _rooms(conn: Connection, user_id: int) -> list[Any]:
    """Every room with the user's read marker and ban, in (kind, slug) order."""
    return _ROOMS.rows(conn, {"user_id": user_id})


# A user's unread messages in a room are the messages by others after their read marker.
# Seqs are gap-free, so over the window (read_seq, last_seq] that is the window's length
# less its events that are no message and less the user's own messages, each counted on
# an index that holds only those rows; the mention candidates are the window's messages
# with an `@` (a partial index holds only those; a LIKE narrows them, `rooms.mentions`
# decides). So a set-up probes indexes instead of scanning everything unread, which after
# a busy day is tens of thousands of rows per user. The windows' upper ends are the
# `last_seq`s the room query read, so the counts are of exactly the seqs the room list
# reports (on SQLite both statements are in one read transaction).
_UNREAD_SQLITE = Prepared(
    text(
        r"""
WITH w AS (
  SELECT json_extract(value, '$[0]') AS room_id, json_extract(value, '$[1]') AS lo,
         json_extract(value, '$[2]') AS hi
  FROM json_each(:windows)
)
SELECT w.room_id,
  (SELECT count(*) FROM events AS e
   WHERE e.room_id = w.room_id AND e.seq > w.lo AND e.seq <= w.hi AND e.type <> 'message')
  + (SELECT count(*) FROM messages AS o
     WHERE o.author_id = :user_id AND o.room_id = w.room_id AND o.seq > w.lo AND o.seq <= w.hi),
  NULL
FROM w
UNION ALL
SELECT m.room_id, 0, m.body
FROM w CROSS JOIN messages AS m ON m.room_id = w.room_id AND m.seq > w.lo AND m.seq <= w.hi
WHERE m.body LIKE '%@%' AND m.body LIKE :pattern ESCAPE '\'
  AND m.author_id <> :user_id AND m.hidden = 0
"""
    )
)
# PostgreSQL: the room list and the unread counts as one statement, one round trip less a
# set-up: `_ROOMS`' columns, then for each room with a window the same counts and mention
# candidates as above (NULL for the others). The windows are those of the rooms the user
# may read unless banned (`area_rooms_open_to`), so a few more than `may_read` keeps
# later. The window's upper end is the `last_seq` of the same row: one snapshot. LIKE is
# case-sensitive here, so the body is lowered (usernames are lower-case ASCII).
_ROOMS_UNREAD_PG = Prepared(
    text(
        r"""
SELECT r.id, r.slug, r.name, r.kind, r.topic, r.last_seq, r.locked, r.archived, r.theme_id,
  r.meeting_id, rm.seq, b.room_id, b.until,
  CASE WHEN w.counted THEN
    (SELECT count(*) FROM events AS e
     WHERE e.room_id = r.id AND e.seq > w.lo AND e.seq <= r.last_seq AND e.type <> 'message')
    + (SELECT count(*) FROM messages AS o
       WHERE o.author_id = :user_id AND o.room_id = r.id AND o.seq > w.lo
         AND o.seq <= r.last_seq)
  END,
  CASE WHEN w.counted THEN
    (SELECT array_agg(m.body) FROM messages AS m
     WHERE m.room_id = r.id AND m.seq > w.lo AND m.seq <= r.last_seq
       AND m.body LIKE '%@%' AND lower(m.body) LIKE :pattern ESCAPE '\'
       AND m.author_id <> :user_id AND NOT m.hidden)
  END
FROM rooms AS r
LEFT JOIN read_markers AS rm ON rm.room_id = r.id AND rm.user_id = :user_id
LEFT JOIN bans AS b ON b.room_id = r.id AND b.user_id = :user_id
CROSS JOIN LATERAL (
  SELECT coalesce(rm.seq, 0) AS lo,
    r.last_seq > coalesce(rm.seq, 0)
    AND (r.kind IN ('theme', 'meeting') OR (r.kind = 'area' AND CAST(:every_area AS boolean))
         OR r.id = ANY(CAST(:areas AS integer[]))) AS counted
) AS w
ORDER BY r.kind, r.slug
"""
    ).columns(*_ROOM_COLUMNS, column("not_unread"), column("mention_candidates"))
)


def _mention_pattern(username: str) -> str:
    """`persistence.mentions._like_me`'s pattern: `@` is no LIKE wildcard, `_` and `%` are."""
    escaped = username.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return "%@" + escaped + "%"


def _unread_sqlite(
    conn: Connection, actor: Actor, windows: list[tuple[int, int, int]]
) -> tuple[dict[int, int], dict[int, int]]:
    """Room id → messages by others in its window (read_seq, last_seq], and → those of them
    that mention the user; one statement for all the windows."""
    params = {
        "user_id": actor.user_id,
        "pattern": _mention_pattern(actor.username),
        "windows": json.dumps(windows),
    }
    length = {room_id: hi - lo for room_id, lo, hi in windows}
    unread: dict[int, int] = {}
    mentioned: dict[int, int] = {}
    for room_id, n, body in _UNREAD_SQLITE.rows(conn, params):
        if body is None:
            if length[room_id] > n:
                unread[room_id] = length[room_id] - int(n)
        elif mentions(body, actor.username):
            mentioned[room_id] = mentioned.get(room_id, 0) + 1
    return unread, mentioned


def _unread_of_rows(actor: Actor, readable: list[Any]) -> tuple[dict[int, int], dict[int, int]]:
    """`_unread_sqlite`'s answer from the rows of `_ROOMS_UNREAD_PG`."""
    unread: dict[int, int] = {}
    mentioned: dict[int, int] = {}
    for row in readable:
        not_unread = row[13]
        if not_unread is None:
            continue
        rid, length = row[0], row[5] - (row[10] or 0)
        if length > not_unread:
            unread[rid] = length - int(not_unread)
        found = sum(1 for body in row[14] or () if mentions(body, actor.username))
        if found:
            mentioned[rid] = found
    return unread, mentioned


def _meeting_wire(row: Any, theme_room: dict[int, str]) -> dict[str, Any]:
    """`persistence.meetings.meeting_wire` from one row of `_meetings`."""
    _id, slug, title, theme_id, starts_at, place, programme, theme = row
    return {
        "slug": slug,
        "title": title,
        "theme": theme,
        "date": iso(starts_at),
        "place": place,
        "programme": programme,
        "room": slug,
        "theme_room": theme_room.get(theme_id) if theme_id is not None else None,
    }


_MEETINGS = Prepared(
    select(
        Meeting.id,
        Meeting.slug,
        Meeting.title,
        Meeting.theme_id,
        Meeting.starts_at,
        Meeting.place,
        Meeting.programme,
        Theme.slug,
    )
    .outerjoin(Theme, Theme.id == Meeting.theme_id)
    .order_by(Meeting.starts_at)
)


@dataclass(frozen=True, slots=True)
class _Meetings:
    """Every meeting as `_MEETINGS` read it, with what `_next_meetings` looks them up by."""

    room_meeting_ids: frozenset[int]  # the meeting ids of the rooms read with them
    read_at: float
    by_id: dict[int, Any]
    refs: list[MeetingRef]


# Seconds a meetings read serves the set-ups of this process (`_meetings`).
MEETINGS_TTL = 10.0
_meetings_read: weakref.WeakKeyDictionary[Engine, _Meetings] = weakref.WeakKeyDictionary()


def _meetings(conn: Connection, every: list[Any]) -> _Meetings:
    """Every meeting, read again only when the rooms just read (`every`) show another set of
    meeting rooms, or after `MEETINGS_TTL`: a herd's set-ups share one read.

    Meetings are few and seldom change, and every meeting is created with its room in one
    transaction (`persistence.moderation.create_meeting`, the community file), so a new one,
    made by any process, is read by the first set-up whose room list shows its room. Only
    a change to an existing meeting (a reloaded community file) waits for the TTL, unless
    it was made in this process (`forget_meetings`).
    """
    ids = frozenset(r[9] for r in every if r[9] is not None)
    known = _meetings_read.get(conn.engine)
    at = time.monotonic()
    if known is not None and known.room_meeting_ids == ids and at - known.read_at < MEETINGS_TTL:
        return known
    rows = _MEETINGS.rows(conn)
    known = _Meetings(
        ids,
        at,
        {m[0]: m for m in rows},
        [MeetingRef(m[0], m[1], m[3], m[4]) for m in rows],
    )
    _meetings_read[conn.engine] = known
    return known


def forget_meetings() -> None:
    """After a change to meetings in this process: the next set-up reads them again."""
    _meetings_read.clear()


def _next_meetings(
    rooms: list[Any], all_rooms: list[Any], meetings: _Meetings, now: datetime
) -> dict[int, dict[str, Any]]:
    """Room id → the next meeting it prepares for (`persistence.meetings.next_meeting_per_room`)."""
    if not meetings.refs:
        return {}
    # Rows of `_ROOMS`: 0 id, 1 slug, 3 kind, 8 theme_id, 9 meeting_id.
    theme_room = {r[8]: r[1] for r in all_rooms if r[3] == "theme" and r[8] is not None}
    by_id, refs = meetings.by_id, meetings.refs
    by_theme: dict[int | None, int | None] = {}
    found: dict[int, dict[str, Any]] = {}
    for room in rooms:
        meeting_id, theme_id = room[9], room[8]
        if meeting_id is not None:
            own = by_id.get(meeting_id)
            hit = own[0] if own is not None and own[4] > now else None
        elif theme_id in by_theme:
            hit = by_theme[theme_id]
        else:
            ref = meeting_for_room(refs, now, theme_id)
            hit = by_theme[theme_id] = ref.id if ref is not None else None
        if hit is not None:
            found[room[0]] = _meeting_wire(by_id[hit], theme_room)
    return found


_KINDS = {kind.value: kind for kind in RoomKind}
# A room-list row's access facts and wire fields (the PostgreSQL rows have two more columns).
_ACCESS_OF_ROW = itemgetter(0, 1, 3, 6, 7, 11, 12)
_WIRE_OF_ROW = itemgetter(0, 1, 2, 3, 4, 5, 6, 7, 10)


def read_room_list(conn: Connection, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """The rooms of `hello` and `GET /api/rooms`: readable rooms in (kind, slug) order with
    read marker, unread count, unread mentions and next meeting: on SQLite in two
    statements, on PostgreSQL (a round trip each) in one; the meetings are read only now
    and then (`_meetings`).

    A herd runs this a thousand times over every room, so rows are unpacked as tuples:
    by-name access on a `Row` cost more than the rest of the loop.
    """
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        areas = area_rooms_open_to(actor)
        every = _ROOMS_UNREAD_PG.rows(
            conn,
            {
                "user_id": actor.user_id,
                "pattern": _mention_pattern(actor.username),
                "every_area": areas is None,
                # staff: every area room, and their own direct conversations
                "areas": list(actor.area_room_ids if areas is None else areas),
            },
        )
    else:
        every = _rooms(conn, actor.user_id)
    readable = []
    for row in every:
        rid, slug, kind, locked, archived, banned, until = _ACCESS_OF_ROW(row)
        ban = Restriction(until) if banned is not None else None
        if may_read(actor, RoomRef(rid, slug, _KINDS[kind], locked, archived), ban, now):
            readable.append(row)
    if not readable:
        return []
    if postgres:
        unread, mentioned = _unread_of_rows(actor, readable)
    else:
        windows = [(r[0], r[10] or 0, r[5]) for r in readable if r[5] > (r[10] or 0)]
        unread, mentioned = _unread_sqlite(conn, actor, windows) if windows else ({}, {})
    upcoming = _next_meetings(readable, every, _meetings(conn, every), now)
    rooms = []
    for row in readable:
        rid, slug, name, kind, topic, last_seq, locked, archived, read = _WIRE_OF_ROW(row)
        rooms.append(
            {
                "slug": slug,
                "name": name,
                "kind": kind,
                "topic": topic,
                "last_seq": last_seq,
                "read_seq": int(read or 0),
                "unread": unread.get(rid, 0),
                "locked": locked,
                "archived": archived,
                "unread_mentions": mentioned.get(rid, 0),
                "next_meeting": upcoming.get(rid),
            }
        )
    return rooms


# -- a whole step of set-up, and the async forms -----------------------------------------


def read_arrival(
    conn: Connection, token_hash: str, now: datetime
) -> tuple[Login, list[dict[str, Any]]] | None:
    """What a WebSocket upgrade reads: the live session, then `hello`'s room list."""
    found = read_login(conn, token_hash, now)
    if found is None:
        return None
    return found, read_room_list(conn, found.actor, now)


async def login(conn: AsyncConnection, token_hash: str, now: datetime) -> Login | None:
    return await conn.run_sync(read_login, token_hash, now)


async def actor_by_id(conn: AsyncConnection, user_id: int) -> Actor | None:
    return await conn.run_sync(read_actor, user_id)


async def room_access(conn: AsyncConnection, slug: str, user_id: int) -> RoomAccess | None:
    return await conn.run_sync(read_room_access, slug, user_id)


async def room_list(conn: AsyncConnection, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    return await conn.run_sync(read_room_list, actor, now)

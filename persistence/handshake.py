"""What setting up a connection reads: the caller, the room list, a room's access, its backlog.

These run for every WebSocket upgrade, `hello` and `subscribe` (and every HTTP request's
authentication), so a herd of reconnecting clients pays them a thousand times at once.
They are SQLAlchemy Core statements on a plain connection returning named tuples: no ORM
identity map, no per-row objects, and as few statements as the answer allows. They are
the only implementation of each read; tests/persistence/oracles.py keeps slow ORM
references that they are tested against.

The reads are plain functions of a sync `Connection` (`read_*`), and `run` runs one, with
everything a step of set-up reads, as one call: on SQLite on the event loop itself, on a
pysqlite connection of its own (no thread hand-off: where aiosqlite cost about four per
statement and a reader thread one per call, a herd spent most of its time handing off;
`run_off_loop` takes the reader thread for a read that may be long), on PostgreSQL with
`run_sync` on a connection kept
for set-up reads, in autocommit (`_PgReaders`: one round trip per statement), at most
`HELD_READERS` at once so that a herd waits here (no timeout) and never for the
pool (30 s, then an error). Inside a transaction the caller already has, run one with
`AsyncConnection.run_sync`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar

import msgspec
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Connection,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    column,
    create_engine,
    event,
    func,
    literal_column,
    make_url,
    null,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.db import HELD_READERS, SQLITE_BUSY_TIMEOUT_MS, Database
from persistence.events import iso
from persistence.lane import Lane
from persistence.models import (
    Ban,
    Meeting,
    Member,
    Membership,
    Mute,
    ReadMarker,
    Room,
    RoomModerator,
    Theme,
    User,
    UTCDateTime,
    utcnow,
)
from persistence.models import Session as SessionRow
from persistence.prepared import Prepared
from persistence.rooms import OWN_DIRECT_SQL, SHARED_ROOM_SQL
from rooms.access import area_rooms_open_to, may_read, open_to_all
from rooms.conversations import AREA_GROUP, LAYER_GROUPS, mentions_reader
from rooms.meetings import MeetingRef, meeting_for_room
from rooms.mentions import mentioned_usernames
from rooms.model import NO_ROOMS, Actor, Restriction, Role, RoomKind, RoomRef
from rooms.registration import MeetingStatus


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
        self.thread = Lane("sqlite-reader")
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
        return await self.thread.run(lambda: self.read(fn))

    def _close_here(self) -> None:
        conn = self.kept.pop(threading.get_ident(), None)
        if conn is not None:
            conn.invalidate()  # never back into the pool: a connection per thread is kept
            conn.close()

    async def close(self) -> None:
        """With its database (`Database.on_dispose`), never from a garbage-collection
        finalizer (one that ran inside a thread pool's `submit` once hung the process)."""
        self._close_here()
        await self.thread.run(self._close_here)
        await self.thread.run(self.engine.dispose)
        self.thread.close()


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


class _LoginRow(NamedTuple):
    """A row of `_LOGIN` and `_LOGINS_PG`: the user (`Member`'s fields), the session's
    expiry and token hash, and an area room (`kind` "a") or a moderated room ("m") of
    theirs, or neither ("u")."""

    id: int
    username: str
    display_name: str
    organisation: str
    layer: str
    role: str
    expires_at: datetime
    token_hash: str
    kind: str
    room_id: int | None


assert _LoginRow._fields[: len(_USER_COLUMNS)] == tuple(f.name for f in fields(Member))


class _ActorRow(NamedTuple):
    username: str
    role: str
    kind: str
    room_id: int | None


@dataclass(frozen=True, slots=True)
class Login:
    """A live session: its user, permissions, expiry."""

    user: Member
    actor: Actor
    expires_at: datetime


def _with_permissions(columns: list[Any], source: Any, where: Any) -> Any:
    """`columns` of the user in `source` once (kind "u"), then with each area room ("a")
    and each moderated room ("m") of theirs: one statement for a user and an `Actor`."""
    head = select(*columns, literal_column("'u'", String), cast(null(), Integer))
    areas = (
        select(*columns, literal_column("'a'", String), Membership.room_id)
        .select_from(source)
        .join(Membership, Membership.user_id == User.id)
        .join(Room, Room.id == Membership.room_id)
    )
    moderated = (
        select(*columns, literal_column("'m'", String), RoomModerator.room_id)
        .select_from(source)
        .join(RoomModerator, RoomModerator.user_id == User.id)
    )
    return (
        head.select_from(source).where(where).union_all(areas.where(where), moderated.where(where))
    )


def _login_statement(many: bool) -> Any:
    """The session's user and permissions (`many`: of each session of `token_hashes`; each
    row names its token hash). Every branch looks the session up by its unique token
    hash with the same conditions, so revocation and expiry are exactly those of the
    session row read here."""
    sessions = SessionRow.__table__
    if many:
        # Driven from the hashes (each an index probe): with `token_hash = ANY(...)` the
        # generic plan scanned every user for their sessions.
        hashes = func.unnest(bindparam("token_hashes", type_=ARRAY(String)))
        asked = hashes.table_valued("token_hash").render_derived(name="asked")
        sessions = asked.join(sessions, SessionRow.token_hash == asked.c.token_hash)
        live = session_live(bindparam("now"))
    else:
        live = and_(
            SessionRow.token_hash == bindparam("token_hash"), session_live(bindparam("now"))
        )
    source = sessions.join(User.__table__, User.id == SessionRow.user_id)
    columns = [*_USER_COLUMNS, SessionRow.expires_at, SessionRow.token_hash]
    return _with_permissions(columns, source, live)


def session_live(now: Any) -> Any:
    """A session authenticates while unrevoked, unexpired and its account enabled (a
    disabled account's sessions are also revoked on disable); needs `User` joined."""
    return and_(
        SessionRow.revoked_at.is_(None), SessionRow.expires_at > now, User.disabled_at.is_(None)
    )


async def live_tokens(session: AsyncSession, token_hashes: list[str], now: datetime) -> set[str]:
    """Which of these session token hashes still authenticate."""
    rows = await session.execute(
        select(SessionRow.token_hash)
        .join(User, User.id == SessionRow.user_id)
        .where(SessionRow.token_hash.in_(token_hashes), session_live(now))
    )
    return set(rows.scalars())


# Built once: constructing a statement and its cache key costs more than running it.
_LOGIN = Prepared(_login_statement(many=False), _LoginRow)
# PostgreSQL only (an array parameter), where each read is a round trip.
_LOGINS_PG = Prepared(_login_statement(many=True), _LoginRow)


def _actor_of(user_id: int, rows: Sequence[_LoginRow] | Sequence[_ActorRow]) -> Actor:
    first = rows[0]
    areas = frozenset(r.room_id for r in rows if r.kind == "a" and r.room_id)
    moderated = frozenset(r.room_id for r in rows if r.kind == "m" and r.room_id)
    return Actor(
        user_id=user_id,
        username=first.username,
        role=Role(first.role),
        area_room_ids=areas or NO_ROOMS,
        moderated_room_ids=moderated or NO_ROOMS,
    )


def read_login(conn: Connection, token_hash: str, now: datetime) -> Login | None:
    """The unexpired, unrevoked session with this token hash: its user and permissions."""
    rows: list[_LoginRow] = _LOGIN.rows(conn, {"token_hash": token_hash, "now": now})
    return _login_of(rows) if rows else None


def read_logins(conn: Connection, token_hashes: Sequence[str], now: datetime) -> dict[str, Login]:
    """`read_login` for each of these token hashes (on PostgreSQL in one statement, where
    each is a round trip): the live sessions' logins by token hash."""
    if conn.dialect.name != "postgresql":
        return {t: found for t in token_hashes if (found := read_login(conn, t, now))}
    rows: list[_LoginRow] = _LOGINS_PG.rows(conn, {"token_hashes": list(token_hashes), "now": now})
    by_token: dict[str, list[_LoginRow]] = {}
    for row in rows:
        by_token.setdefault(row.token_hash, []).append(row)
    return {token: _login_of(found) for token, found in by_token.items()}


def _login_of(rows: Sequence[_LoginRow]) -> Login:
    first = rows[0]
    user = Member(
        first.id, first.username, first.display_name, first.organisation, first.layer, first.role
    )
    return Login(user, _actor_of(user.id, rows), first.expires_at)


def _actor_statement(live_only: bool) -> Any:
    user = User.id == bindparam("user_id")
    if live_only:
        user = and_(user, User.disabled_at.is_(None))
    return _with_permissions([User.username, User.role], User.__table__, user)


_ACTOR = {live: Prepared(_actor_statement(live), _ActorRow) for live in (True, False)}


def read_actor(conn: Connection, user_id: int, *, disabled_too: bool = False) -> Actor | None:
    """The user's permissions now (role, area rooms, moderated rooms); None if gone, or if
    disabled unless `disabled_too`."""
    rows: list[_ActorRow] = _ACTOR[not disabled_too].rows(conn, {"user_id": user_id})
    return _actor_of(user_id, rows) if rows else None


# -- one room's access -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoomAccess:
    """A room's access facts and seq, the caller's ban and mute there (if any), and the
    room's slow mode."""

    ref: RoomRef
    last_seq: int
    ban: Restriction | None
    mute: Restriction | None = None
    slow_mode_seconds: int = 0


class _AccessRow(NamedTuple):
    id: int
    kind: str
    locked: bool
    archived: bool
    last_seq: int
    banned: int | None  # the ban's room id: set when there is a ban
    ban_until: datetime | None
    slow_mode_seconds: int
    mute_until: datetime | None


_ROOM_ACCESS = Prepared(
    select(
        Room.id,
        Room.kind,
        Room.locked,
        Room.archived,
        Room.last_seq,
        Ban.room_id,
        Ban.until,
        Room.slow_mode_seconds,
        Mute.until,
    )
    .outerjoin(Ban, and_(Ban.room_id == Room.id, Ban.user_id == bindparam("user_id")))
    .outerjoin(Mute, and_(Mute.room_id == Room.id, Mute.user_id == bindparam("user_id")))
    .where(Room.slug == bindparam("slug")),
    _AccessRow,
)


def read_room_access(conn: Connection, slug: str, user_id: int) -> RoomAccess | None:
    """The room by slug with the user's ban, in one statement; None if there is no such room."""
    found: list[_AccessRow] = _ROOM_ACCESS.rows(conn, {"slug": slug, "user_id": user_id})
    if not found:
        return None
    row = found[0]
    ref = RoomRef(
        id=row.id, slug=slug, kind=_KINDS[row.kind], locked=row.locked, archived=row.archived
    )
    return _access(ref, row)


def _access(ref: RoomRef, row: _AccessRow | _UserAccessRow) -> RoomAccess:
    ban = Restriction(row.ban_until) if row.banned is not None else None
    mute = Restriction(row.mute_until) if row.mute_until is not None else None
    return RoomAccess(ref, int(row.last_seq), ban, mute, int(row.slow_mode_seconds or 0))


class _UserAccessRow(NamedTuple):
    """`_AccessRow` for one of several users (`read_room_access_of`)."""

    user_id: int
    id: int
    kind: str
    locked: bool
    archived: bool
    last_seq: int
    banned: int | None
    ban_until: datetime | None
    slow_mode_seconds: int
    mute_until: datetime | None


# `_ROOM_ACCESS` for many users at once, PostgreSQL only (where each read is a round trip).
_ROOM_ACCESS_OF_PG = Prepared(
    text(
        """
SELECT u.user_id, r.id, r.kind, r.locked, r.archived, r.last_seq, b.room_id, b.until,
  r.slow_mode_seconds, m.until
FROM rooms AS r
CROSS JOIN unnest(CAST(:user_ids AS integer[])) AS u(user_id)
LEFT JOIN bans AS b ON b.room_id = r.id AND b.user_id = u.user_id
LEFT JOIN mutes AS m ON m.room_id = r.id AND m.user_id = u.user_id
WHERE r.slug = :slug
"""
    ).columns(
        column("user_id", Integer),
        column("id", Integer),
        column("kind", String),
        column("locked", Boolean),
        column("archived", Boolean),
        column("last_seq", BigInteger),
        column("banned", Integer),
        column("ban_until", UTCDateTime),
        column("slow_mode_seconds", Integer),
        column("mute_until", UTCDateTime),
    ),
    _UserAccessRow,
)


def read_room_access_of(
    conn: Connection, slug: str, user_ids: Sequence[int]
) -> dict[int, RoomAccess]:
    """`read_room_access` for each of these users, in one statement (PostgreSQL): by user
    id, the room's facts and that user's own ban and mute; empty if there is no such room."""
    found: list[_UserAccessRow] = _ROOM_ACCESS_OF_PG.rows(
        conn, {"slug": slug, "user_ids": list(user_ids)}
    )
    if not found:
        return {}
    first = found[0]
    ref = RoomRef(first.id, slug, _KINDS[first.kind], first.locked, first.archived)
    return {row.user_id: _access(ref, row) for row in found}


# -- the room list -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpcomingMeeting:
    """The next meeting a room prepares for, with the rooms the client links to."""

    slug: str
    title: str
    theme: str | None
    date: str | None
    place: str
    programme: str
    room: str
    theme_room: str | None
    # The rest of part two's meeting object (its `counts` and `my_registration` are the
    # meeting page's).
    ends_at: str | None
    status: str
    capacity: int | None
    registration_closes_at: str | None


# A Struct, not a dataclass: a herd makes one per room and user, and a frozen dataclass's
# `__init__` cost six times as much.
class RoomListing(msgspec.Struct, frozen=True):
    """A room of `hello` and `GET /api/rooms`, with the caller's marker, unread messages
    and mentions, and the next meeting it prepares for."""

    slug: str
    name: str
    kind: str
    topic: str | None
    last_seq: int
    read_seq: int
    unread: int
    locked: bool
    archived: bool
    unread_mentions: int
    next_meeting: UpcomingMeeting | None
    # Whether the caller moderates the room: the client offers moderation only there.
    can_moderate: bool = False


# A room list row's columns: the room's own, then the user's read marker and ban there.
_ROOM_FACT_COLUMNS = (
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
)
_ROOM_COLUMNS = (*_ROOM_FACT_COLUMNS, ReadMarker.seq, Ban.room_id, Ban.until)
_FACTS = len(_ROOM_FACT_COLUMNS)


class _RoomFacts(NamedTuple):
    """A room as a room list reads it (`_ROOM_FACT_COLUMNS`), with its `RoomRef` and whether
    `may_read` opens it to anyone not banned (`open_to_all`)."""

    id: int
    slug: str
    name: str
    kind: str
    topic: str | None
    last_seq: int
    locked: bool
    archived: bool
    theme_id: int | None
    meeting_id: int | None
    ref: RoomRef
    open: bool

    @classmethod
    def of(cls, columns: Sequence[Any]) -> _RoomFacts:
        """From a room list row's columns: the room's come first."""
        own = columns[:_FACTS]
        room_id, slug, _, kind, _, _, locked, archived, _, _ = own
        ref = RoomRef(room_id, slug, _KINDS[kind], locked, archived)
        return cls._make((*own, ref, open_to_all(ref)))


assert _RoomFacts._fields[:_FACTS] == tuple(c.name for c in _ROOM_FACT_COLUMNS)


class _RoomRow(NamedTuple):
    """A room of a user's room list: the room, the user's read marker and ban there, and
    what is no unread message in the window (read_seq, last_seq] with its mention
    candidates (None: the window is not counted)."""

    room: _RoomFacts
    read_seq: int | None
    banned: int | None  # the ban's room id: set when there is a ban
    ban_until: datetime | None
    not_unread: int | None = None
    mention_candidates: list[str] | None = None

    @classmethod
    def mine(cls, room: _RoomFacts, columns: Sequence[Any]) -> _RoomRow:
        """The room with the user's columns of a room list row, which follow the room's."""
        return cls(room, *columns[_FACTS:])


# SQLite reads the room lists of several users (`:user_ids`, a JSON array; `ord` a user's
# place in it, from 1) in three statements: the rooms' own facts once (`ord` 0: the shared
# rooms; a user's own direct conversations under their `ord`), then only the users' rows
# (markers, bans), then the unread windows. A room's facts for each user were most of a
# herd's room list work.
_FACT_SQL = ", ".join(f"r.{c.name}" for c in _ROOM_FACT_COLUMNS)
_ROOM_FACTS_SQLITE = Prepared(
    text(
        f"""
SELECT 0, {_FACT_SQL} FROM rooms AS r WHERE r.{SHARED_ROOM_SQL}
UNION ALL
SELECT u.key + 1, {_FACT_SQL} FROM json_each(:user_ids) AS u
  JOIN rooms AS r ON r.id IN ({OWN_DIRECT_SQL.replace(":user_id", "u.value")})
ORDER BY 1, 5, 3
"""  # noqa: S608 (constants)
    ).columns(column("ord", Integer), *_ROOM_FACT_COLUMNS),
)


class _MineRow(NamedTuple):
    """A user's read marker (`banned` None) or ban (`banned` its room id) in a room."""

    ord: int
    room_id: int
    read_seq: int | None
    banned: int | None
    ban_until: datetime | None


_MINE_SQLITE = Prepared(
    text(
        """
SELECT u.key + 1, rm.room_id, rm.seq, NULL, NULL
FROM json_each(:user_ids) AS u JOIN read_markers AS rm ON rm.user_id = u.value
UNION ALL
SELECT u.key + 1, b.room_id, NULL, b.room_id, b.until
FROM json_each(:user_ids) AS u JOIN bans AS b ON b.user_id = u.value
"""
    ).columns(
        column("ord", Integer), column("room_id", Integer), ReadMarker.seq, Ban.room_id, Ban.until
    ),
    _MineRow,
)


# A user's unread messages in a room are the messages by others after their read marker.
# Seqs are gap-free, so over the window (read_seq, last_seq] that is the window's length
# less its events that are no message (a `restored` event counts with the seqs a restore
# skipped before it, `werkplaats restore`) and less the user's own messages, each counted on
# an index that holds only those rows; the mention candidates are the window's messages
# with an `@` (a partial index holds only those; a LIKE narrows them, `rooms.mentions`
# decides). So a set-up probes indexes instead of scanning everything unread, which after
# a busy day is tens of thousands of rows per user. The windows' upper ends are the
# `last_seq`s the room query read, so the counts are of exactly the seqs the room list
# reports. The two databases differ only in how the windows reach the statement and how
# the candidates come back: SQLite takes them as JSON after the room query (both in one
# read transaction) and answers the candidates as a JSON array; PostgreSQL counts in the
# room query itself (one round trip less a set-up, one snapshot) and answers an array.
class _UnreadRow(NamedTuple):
    ord: int
    room_id: int
    not_unread: int
    mention_candidates: str  # a JSON array


_UNREAD_SQLITE = Prepared(
    text(
        r"""
WITH w AS (
  SELECT json_extract(value, '$[0]') AS ord, json_extract(value, '$[1]') AS room_id,
         json_extract(value, '$[2]') AS lo, json_extract(value, '$[3]') AS hi,
         json_extract(value, '$[4]') AS user_id, json_extract(value, '$[5]') AS pattern,
         json_extract(value, '$[6]') AS layer_pattern
  FROM json_each(:windows)
)
SELECT w.ord, w.room_id,
  (SELECT coalesce(sum(CASE WHEN e.type = 'restored'
     THEN e.seq - max(w.lo, coalesce(json_extract(e.data, '$.after'), e.seq - 1)) ELSE 1 END), 0)
   FROM events AS e
   WHERE e.room_id = w.room_id AND e.seq > w.lo AND e.seq <= w.hi AND e.type <> 'message')
  + (SELECT count(*) FROM messages AS o
     WHERE o.author_id = w.user_id AND o.room_id = w.room_id AND o.seq > w.lo AND o.seq <= w.hi),
  (SELECT json_group_array(m.body) FROM messages AS m
   WHERE m.room_id = w.room_id AND m.seq > w.lo AND m.seq <= w.hi
     AND m.body LIKE '%@%' AND (m.body LIKE w.pattern ESCAPE '\'
       OR m.body LIKE w.layer_pattern ESCAPE '\' OR m.body LIKE :area_pattern ESCAPE '\')
     AND m.author_id <> w.user_id AND m.hidden = 0)
FROM w
"""
    ),
    _UnreadRow,
)
# The windows are those of the rooms the user may read unless banned
# (`area_rooms_open_to`), so a few more than `may_read` keeps later. LIKE is
# case-sensitive here, so the body is lowered (usernames are lower-case ASCII). It reads
# the room lists of several users at once (`u`, one row per user with `ord` its place in
# the arrays; a lone room list is a batch of one): a herd's set-ups of the same moment
# share one round trip (`ArrivalReads`). Each user's areas come as an array literal.
# A room's own facts come once per statement (`ord` 0: the shared rooms, and the direct
# conversations of the users), each user's rows only what is theirs (marker, ban, counts;
# the facts NULL): a room's name, slug and topic once for each user were most of what a
# batch decoded. One statement, so one snapshot: the windows end at the facts' `last_seq`s.
_ROOMS_UNREAD_PG = Prepared(
    text(
        r"""
WITH u AS (
  SELECT * FROM unnest(CAST(:user_ids AS integer[]), CAST(:patterns AS text[]),
      CAST(:layer_patterns AS text[]), CAST(:every_area AS boolean[]), CAST(:areas AS text[]))
    WITH ORDINALITY AS u(user_id, pattern, layer_pattern, every_area, areas, ord)
), l AS (
  SELECT u.*, r.id, r.slug, r.name, r.kind, r.topic, r.last_seq, r.locked, r.archived,
    r.theme_id, r.meeting_id
  FROM u CROSS JOIN LATERAL (
    SELECT * FROM rooms WHERE {shared}
    UNION ALL
    SELECT * FROM rooms WHERE id IN ({own_direct})
  ) AS r
)
SELECT x.ord, x.id, x.slug, x.name, x.kind, x.topic, x.last_seq, x.locked, x.archived,
  x.theme_id, x.meeting_id, x.read_seq, x.banned, x.ban_until, x.not_unread,
  x.mention_candidates
FROM (
  SELECT CAST(0 AS bigint) AS ord, r.id, r.slug, r.name, r.kind, r.topic, r.last_seq,
    r.locked, r.archived, r.theme_id, r.meeting_id, CAST(NULL AS bigint) AS read_seq,
    CAST(NULL AS integer) AS banned, CAST(NULL AS timestamptz) AS ban_until,
    CAST(NULL AS bigint) AS not_unread, CAST(NULL AS text[]) AS mention_candidates,
    r.kind AS by_kind, r.slug AS by_slug
  FROM rooms AS r WHERE {shared}
  UNION ALL
  SELECT 0, id, slug, name, kind, topic, last_seq, locked, archived, theme_id, meeting_id,
    NULL, NULL, NULL, NULL, NULL, kind, slug
  FROM l WHERE kind = 'direct'
  UNION ALL
  SELECT l.ord, l.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, rm.seq,
    b.room_id, b.until,
    CASE WHEN w.counted THEN CAST(
      (SELECT coalesce(sum(CASE WHEN e.type = 'restored'
         THEN e.seq - greatest(w.lo, coalesce(CAST(e.data ->> 'after' AS bigint), e.seq - 1))
         ELSE 1 END), 0)
       FROM events AS e
       WHERE e.room_id = l.id AND e.seq > w.lo AND e.seq <= l.last_seq
         AND e.type <> 'message')
      + (SELECT count(*) FROM messages AS o
         WHERE o.author_id = l.user_id AND o.room_id = l.id AND o.seq > w.lo
           AND o.seq <= l.last_seq) AS bigint)
    END,
    CASE WHEN w.counted THEN
      (SELECT array_agg(m.body) FROM messages AS m
       WHERE m.room_id = l.id AND m.seq > w.lo AND m.seq <= l.last_seq
         AND m.body LIKE '%@%' AND (lower(m.body) LIKE l.pattern ESCAPE '\'
           OR lower(m.body) LIKE l.layer_pattern ESCAPE '\'
           OR lower(m.body) LIKE :area_pattern ESCAPE '\')
         AND m.author_id <> l.user_id AND NOT m.hidden)
    END,
    l.kind, l.slug
  FROM l
  LEFT JOIN read_markers AS rm ON rm.room_id = l.id AND rm.user_id = l.user_id
  LEFT JOIN bans AS b ON b.room_id = l.id AND b.user_id = l.user_id
  CROSS JOIN LATERAL (
    SELECT coalesce(rm.seq, 0) AS lo,
      l.last_seq > coalesce(rm.seq, 0)
      AND (l.kind IN ('theme', 'meeting') OR (l.kind = 'area' AND l.every_area)
           OR l.id = ANY(CAST(l.areas AS integer[]))) AS counted
  ) AS w
) AS x
ORDER BY x.ord, x.by_kind, x.by_slug
""".format(  # noqa: S608 (constants)
            shared=SHARED_ROOM_SQL, own_direct=OWN_DIRECT_SQL.replace(":user_id", "u.user_id")
        )
    ).columns(
        column("ord", BigInteger),
        *_ROOM_COLUMNS,
        column("not_unread"),
        column("mention_candidates"),
    ),
)


def _mention_pattern(username: str) -> str:
    """A LIKE pattern for `@username`: `@` is no LIKE wildcard, `_` and `%` are."""
    escaped = username.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return "%@" + escaped + "%"


def _mention_patterns(username: str, layer: str) -> dict[str, str]:
    """The LIKE patterns that narrow the candidates: `@username`, the user's layer
    (`@waterschap`; their own name again when the layer is no group) and `@gebied`
    (`mentions_reader` decides where it counts)."""
    own = _mention_pattern(username)
    return {
        "pattern": own,
        "layer_pattern": _mention_pattern(layer) if layer in LAYER_GROUPS else own,
        "area_pattern": _mention_pattern(AREA_GROUP),
    }


def _unread_sqlite(
    conn: Connection, people: Sequence[tuple[Actor, str]], readable: list[list[_RoomRow]]
) -> list[list[_RoomRow]]:
    """`readable` (each user's rows) with `not_unread` and `mention_candidates` filled in,
    as PostgreSQL's room query answers them: one statement for all the windows."""
    windows: list[tuple[Any, ...]] = []
    for ord, ((actor, layer), theirs) in enumerate(zip(people, readable, strict=True), 1):
        patterns = _mention_patterns(actor.username, layer)
        user = (actor.user_id, patterns["pattern"], patterns["layer_pattern"])
        windows.extend(
            (ord, r.room.id, r.read_seq or 0, r.room.last_seq, *user)
            for r in theirs
            if r.room.last_seq > (r.read_seq or 0)
        )
    if not windows:
        return readable
    params = {"windows": json.dumps(windows), "area_pattern": _mention_pattern(AREA_GROUP)}
    found: list[_UnreadRow] = _UNREAD_SQLITE.rows(conn, params)
    counted = {(r.ord, r.room_id): r for r in found}
    return [
        [
            row
            if (window := counted.get((ord, row.room.id))) is None
            else row._replace(
                not_unread=int(window.not_unread),
                mention_candidates=json.loads(window.mention_candidates),
            )
            for row in theirs
        ]
        for ord, theirs in enumerate(readable, 1)
    ]


def _mentions(
    actor: Actor, layer: str, kind: str, room_id: int, candidates: Sequence[str] | None
) -> int:
    """How many of a window's candidate bodies mention the user: by name or through a
    group of theirs (`mentions_reader`)."""
    if not candidates:
        return 0
    team = kind == RoomKind.AREA.value and room_id in actor.area_room_ids
    return sum(
        1
        for body in candidates
        if mentions_reader(mentioned_usernames(body), actor.username, layer, team)
    )


class _MeetingRow(NamedTuple):
    id: int
    slug: str
    title: str
    theme_id: int | None
    starts_at: datetime
    place: str
    programme: str
    theme: str | None  # the theme's slug
    ends_at: datetime | None
    status: str
    capacity: int | None
    registration_closes_at: datetime | None


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
        Meeting.ends_at,
        Meeting.status,
        Meeting.capacity,
        Meeting.registration_closes_at,
    )
    .outerjoin(Theme, Theme.id == Meeting.theme_id)
    .order_by(Meeting.starts_at),
    _MeetingRow,
)


def _upcoming(meeting: _MeetingRow, theme_room: dict[int, str]) -> UpcomingMeeting:
    return UpcomingMeeting(
        slug=meeting.slug,
        title=meeting.title,
        theme=meeting.theme,
        date=iso(meeting.starts_at),
        place=meeting.place,
        programme=meeting.programme,
        room=meeting.slug,
        theme_room=theme_room.get(meeting.theme_id) if meeting.theme_id is not None else None,
        ends_at=iso(meeting.ends_at),
        status=meeting.status,
        capacity=meeting.capacity,
        registration_closes_at=iso(meeting.registration_closes_at),
    )


@dataclass(frozen=True, slots=True)
class _Meetings:
    """Every meeting as `_MEETINGS` read it, with what `_next_meetings` looks them up by."""

    room_meeting_ids: frozenset[int]  # the meeting ids of the rooms read with them
    read_at: float
    by_id: dict[int, _MeetingRow]
    refs: list[MeetingRef]


# Seconds a meetings read serves the set-ups of this process (`MeetingsRead`).
MEETINGS_TTL = 10.0


class MeetingsRead:
    """Every meeting, read again only when the rooms just read show another set of meeting
    rooms, or after `MEETINGS_TTL`: a herd's set-ups share one read. One per database
    (`Database.part`).

    Meetings are few and seldom change, and every meeting is created with its room in one
    transaction (`persistence.moderation.create_meeting`, the community file), so a new one,
    made by any process, is read by the first set-up whose room list shows its room. Only
    a change to an existing meeting (a reloaded community file) waits for the TTL, unless
    it was made in this process, which then calls `forget`.
    """

    def __init__(self) -> None:
        self.known: _Meetings | None = None

    def get(self, conn: Connection, every: Sequence[_RoomFacts]) -> _Meetings:
        ids = frozenset(r.meeting_id for r in every if r.meeting_id is not None)
        known, at = self.known, time.monotonic()
        if (
            known is not None
            and known.room_meeting_ids == ids
            and at - known.read_at < MEETINGS_TTL
        ):
            return known
        rows: list[_MeetingRow] = _MEETINGS.rows(conn)
        refs = [
            MeetingRef(m.id, m.slug, m.theme_id, m.starts_at, m.status == MeetingStatus.CANCELLED)
            for m in rows
        ]
        self.known = _Meetings(ids, at, {m.id: m for m in rows}, refs)
        return self.known

    def forget(self) -> None:
        """After a change to meetings in this process: the next set-up reads them again."""
        self.known = None


def _next_meetings(
    rooms: Sequence[_RoomFacts], all_rooms: Sequence[_RoomFacts], meetings: _Meetings, now: datetime
) -> dict[int, UpcomingMeeting]:
    """Room id → the next meeting it prepares for: a meeting room its own meeting while it
    is ahead, a theme room its theme's next meeting, an area room the next of any theme."""
    if not meetings.refs:
        return {}
    theme_room = {
        r.theme_id: r.slug for r in all_rooms if r.kind == "theme" and r.theme_id is not None
    }
    by_id, refs = meetings.by_id, meetings.refs
    by_theme: dict[int | None, int | None] = {}
    found: dict[int, UpcomingMeeting] = {}
    for room in rooms:
        meeting_id, theme_id = room.meeting_id, room.theme_id
        if meeting_id is not None:
            own = by_id.get(meeting_id)
            hit = own.id if own is not None and own.starts_at > now else None
        elif theme_id in by_theme:
            hit = by_theme[theme_id]
        else:
            ref = meeting_for_room(refs, now, theme_id)
            hit = by_theme[theme_id] = ref.id if ref is not None else None
        if hit is not None:
            found[room.id] = _upcoming(by_id[hit], theme_room)
    return found


_KINDS = {kind.value: kind for kind in RoomKind}


def read_room_list(
    conn: Connection, actor: Actor, now: datetime, meetings: MeetingsRead, layer: str
) -> list[RoomListing]:
    """The rooms of `hello` and `GET /api/rooms` for the actor of this `layer`: readable
    rooms in (kind, slug) order with read marker, unread count, unread mentions and next
    meeting: on SQLite in three statements, on PostgreSQL (a round trip each) in one; the
    meetings are read only now and then (`MeetingsRead`). Of direct conversations only the
    actor's own are read (`persistence.rooms.listed_rooms`)."""
    return read_room_lists(conn, [(actor, layer)], now, meetings)[0]


def read_room_lists(
    conn: Connection, people: Sequence[tuple[Actor, str]], now: datetime, meetings: MeetingsRead
) -> list[list[RoomListing]]:
    """`read_room_list` for each (actor, layer), in their order: each room's facts read
    once for all of them (on PostgreSQL in one statement, on SQLite in three)."""
    if conn.dialect.name == "postgresql":
        rooms, readable = _room_rows_pg(conn, people, now)
    else:
        rooms, readable = _room_rows_sqlite(conn, people, now)
    # Whom a meeting is next for depends on the room alone: once for the batch.
    upcoming = _next_meetings(rooms, rooms, meetings.get(conn, rooms), now)
    return [
        _listings(actor, layer, rows, upcoming)
        for (actor, layer), rows in zip(people, readable, strict=True)
    ]


def _room_rows_pg(
    conn: Connection, people: Sequence[tuple[Actor, str]], now: datetime
) -> tuple[list[_RoomFacts], list[list[_RoomRow]]]:
    """Every room read, and each user's rows of the rooms they may read, counted."""
    facts: dict[int, _RoomFacts] = {}
    theirs: list[list[_RoomRow]] = [[] for _ in people]
    for user, *columns in _ROOMS_UNREAD_PG.rows(conn, _room_list_params(people)):
        if user:
            # A user's own columns of a room (its id first): rooms sort first, `ord` 0.
            theirs[user - 1].append(_RoomRow.mine(facts[columns[0]], columns))
        else:
            room = _RoomFacts.of(columns)
            facts[room.id] = room
    readable = [
        [row for row in rows if _readable(actor, row, now)]
        for (actor, _), rows in zip(people, theirs, strict=True)
    ]
    return list(facts.values()), readable


def _room_rows_sqlite(
    conn: Connection, people: Sequence[tuple[Actor, str]], now: datetime
) -> tuple[list[_RoomFacts], list[list[_RoomRow]]]:
    """`_room_rows_pg` on SQLite: the facts, then the users' markers and bans, then the
    unread windows of the rooms each may read (`_unread_sqlite`)."""
    user_ids = json.dumps([actor.user_id for actor, _ in people])
    # Shared rooms in (kind, slug) order; a user's direct ones go between the kinds before
    # 'direct' and those after it.
    before: list[_RoomFacts] = []
    after: list[_RoomFacts] = []
    direct: list[list[_RoomFacts]] = [[] for _ in people]
    for user, *columns in _ROOM_FACTS_SQLITE.rows(conn, {"user_ids": user_ids}):
        room = _RoomFacts.of(columns)
        if user:
            direct[user - 1].append(room)
        else:
            (before if room.kind < RoomKind.DIRECT.value else after).append(room)
    mine: list[dict[int, list[Any]]] = [{} for _ in people]
    for row in _MINE_SQLITE.rows(conn, {"user_ids": user_ids}):
        found = mine[row.ord - 1].setdefault(row.room_id, [None, None, None])
        if row.banned is None:
            found[0] = row.read_seq
        else:
            found[1:] = row.banned, row.ban_until
    no_row = (None, None, None)
    readable = []
    for (actor, _), own, theirs in zip(people, direct, mine, strict=True):
        rows = [_RoomRow(room, *theirs.get(room.id, no_row)) for room in (*before, *own, *after)]
        readable.append([row for row in rows if _readable(actor, row, now)])
    rooms = [*before, *after, *(room for own in direct for room in own)]
    return rooms, _unread_sqlite(conn, people, readable)


def _room_list_params(people: Sequence[tuple[Actor, str]]) -> dict[str, Any]:
    """`_ROOMS_UNREAD_PG`'s arrays, one element per (actor, layer)."""
    params: dict[str, Any] = {
        "user_ids": [],
        "patterns": [],
        "layer_patterns": [],
        "area_pattern": _mention_pattern(AREA_GROUP),
        "every_area": [],
        "areas": [],
    }
    for actor, layer in people:
        areas = area_rooms_open_to(actor)
        patterns = _mention_patterns(actor.username, layer)
        params["user_ids"].append(actor.user_id)
        params["patterns"].append(patterns["pattern"])
        params["layer_patterns"].append(patterns["layer_pattern"])
        params["every_area"].append(areas is None)
        # staff: every area room, and their own direct conversations
        ids = actor.area_room_ids if areas is None else areas
        params["areas"].append("{" + ",".join(str(i) for i in sorted(ids)) + "}")
    return params


def _readable(actor: Actor, row: _RoomRow, now: datetime) -> bool:
    """`may_read` for a room list row; a room open to all needs it only for a ban."""
    room = row.room
    if row.banned is None:
        return room.open or may_read(actor, room.ref, None, now)
    return may_read(actor, room.ref, Restriction(row.ban_until), now)


def _listings(
    actor: Actor, layer: str, readable: list[_RoomRow], upcoming: dict[int, UpcomingMeeting]
) -> list[RoomListing]:
    """The actor's room list from the rows of the rooms they may read (`_readable`), with
    each room's next meeting from `upcoming`."""
    staff, moderated = actor.is_staff, actor.moderated_room_ids
    listed = []
    for room, read_seq, _, _, not_unread, candidates in readable:
        read_seq = read_seq or 0
        unread = mentions = 0
        if not_unread is not None:
            unread = max(0, room.last_seq - read_seq - not_unread)
            mentions = _mentions(actor, layer, room.kind, room.id, candidates)
        listed.append(
            RoomListing(
                slug=room.slug,
                name=room.name,
                kind=room.kind,
                topic=room.topic,
                read_seq=read_seq,
                last_seq=room.last_seq,
                unread=unread,
                unread_mentions=mentions,
                locked=room.locked,
                archived=room.archived,
                can_moderate=staff or room.id in moderated,
                next_meeting=upcoming.get(room.id),
            )
        )
    return listed


# -- a whole step of set-up, and the async forms -----------------------------------------


def read_arrivals(
    conn: Connection, token_hashes: Sequence[str], now: datetime, meetings: MeetingsRead
) -> list[tuple[Login, list[RoomListing]] | None]:
    """What WebSocket upgrades read, for each of these token hashes in their order: the
    live session and `hello`'s room list (None for no live session). The sessions, then
    the room lists read together (`read_room_lists`), whatever their number."""
    logins = read_logins(conn, token_hashes, now)
    if not logins:
        return [None] * len(token_hashes)
    people = [(login.actor, login.user.layer) for login in logins.values()]
    rooms = read_room_lists(conn, people, now, meetings)
    found = dict(zip(logins, zip(logins.values(), rooms, strict=True), strict=True))
    return [found.get(token) for token in token_hashes]


# Upgrades whose set-up reads share one batch at most: a batch's rows (a room list each)
# are turned into listings in one go on the event loop.
ARRIVALS_PER_READ = 64
# Shared reads under way at once: one left PostgreSQL's other core idle while it ran.
ARRIVAL_READS_AT_ONCE = 2

_Waiter = tuple[str, "asyncio.Future[tuple[Login, list[RoomListing]] | None]"]


class ArrivalReads:
    """The set-up reads of the upgrades that arrive together, read for all of them at once
    (`read_arrivals`: on PostgreSQL two round trips, not two for each; each room's facts
    decoded once, not once for each).

    An upgrade's read begins after it asked: those that ask while `ARRIVAL_READS_AT_ONCE`
    reads are under way share the next one, which starts when one of those ends (at most
    `ARRIVALS_PER_READ` in it), so a session revoked before the upgrade asked is never
    taken for live. A lone upgrade waits for no one: its read starts in the next turn of
    the event loop. One per database (`Database.part`).
    """

    def __init__(self) -> None:
        self.waiting: list[_Waiter] = []
        self.readers: set[asyncio.Task[None]] = set()

    async def read(
        self, db: Database, token_hash: str, meetings: MeetingsRead
    ) -> tuple[Login, list[RoomListing]] | None:
        """The live session of this token hash and its user's room list, or None."""
        done: asyncio.Future[tuple[Login, list[RoomListing]] | None]
        done = asyncio.get_running_loop().create_future()
        self.waiting.append((token_hash, done))
        if len(self.readers) < ARRIVAL_READS_AT_ONCE:
            task = asyncio.create_task(self._drain(db, meetings), name="arrival-reads")
            self.readers.add(task)
        # Shielded: an upgrade whose client went away must not cancel the others' read.
        return await asyncio.shield(done)

    async def _drain(self, db: Database, meetings: MeetingsRead) -> None:
        batch: list[_Waiter] = []
        try:
            while True:
                # The upgrades of this turn of the loop come along; and on SQLite, whose
                # reads run on the loop itself, the rest of the loop runs between two reads.
                await asyncio.sleep(0)
                if not self.waiting:
                    break
                batch = self.waiting[:ARRIVALS_PER_READ]
                del self.waiting[:ARRIVALS_PER_READ]
                tokens = [token for token, _ in batch]
                try:
                    found = await run(db, read_arrivals, tokens, utcnow(), meetings)
                except Exception as exc:
                    for _, done in batch:
                        done.set_exception(exc)
                        done.exception()  # no "never retrieved" warning for one that left
                    continue
                for (_, done), arrived in zip(batch, found, strict=True):
                    done.set_result(arrived)
                batch = []
        finally:
            self.readers.discard(asyncio.current_task())
            for _, done in batch:
                done.cancel()
            if not self.readers:
                for _, done in self.waiting:
                    done.cancel()
                self.waiting = []


async def arrival(
    db: Database, token_hash: str, meetings: MeetingsRead
) -> tuple[Login, list[RoomListing]] | None:
    """What a WebSocket upgrade reads (`read_arrivals`), shared with the upgrades of the
    same moment (`ArrivalReads`)."""
    return await db.part(ArrivalReads).read(db, token_hash, meetings)

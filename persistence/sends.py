"""Storing sends: one planner, and one writer per database; a lone send is a batch of one.

A batch costs a fixed number of statements whatever its size. One read takes the batch's
rooms and every fact the decisions need (bans, mutes, earlier messages with the same
client_id, reply targets, last posts in slow-mode rooms), probed by the batch's exact keys
and passed as arrays (PostgreSQL) or JSON (SQLite), so that every batch size has one
statement text. `_plan` then decides each send in Python, in order, exactly as if they had
been stored one after another: a refused send gets its error and no seq, a repeated
client_id the first one's ack. The writer takes the rooms' seqs and inserts the messages,
their events and (SQLite) the search rows. A send may carry files (attachments): their
facts are read with the batch's (a second statement, only when some send has files), the
planner decides them (`rooms.files.check_attach`), and the writer marks them used by the
message and puts their names, sizes and types in the `message` event's data, from which
every later read of the event serves them. A live send's time is the database's, read with
its facts: its decisions and its created_at are on the one clock every host shares
(docs/reliability.md, "Clocks").

SQLite (`store_sqlite`): the read and the writes on the driver's connection inside the
writer thread's transaction (BEGIN IMMEDIATE holds the database, so what was read stays
true until the commit). PostgreSQL (`store_postgres`): self-committing statements on a
kept asyncpg connection (docs/realtime.md, "One send" and "Group commit"); the write
stores a room's sends only if what the plan assumed still holds, and the sends of a room
it did not store are decided again in a transaction that locks the rooms.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from persistence.models import UTCDateTime, utcnow
from persistence.search import sqlite as fts
from persistence.search.compounds import index_fields, parts_text
from rooms.access import check_post, may_moderate, sanctions_bind
from rooms.conversations import check_group_mention
from rooms.errors import DomainError, NotFound
from rooms.files import FileFact, check_attach
from rooms.model import SLUG_RE, Actor, Restriction, RoomKind, RoomRef
from rooms.moderation import check_slow_mode


@dataclass(slots=True)
class Send:
    """One send as this module sees it (the author's wire form is the caller's business).
    `at` None (a live send): decided and stored on the database's clock, whatever this
    host's clock says (docs/reliability.md, "Clocks"); a time: the demo's and tests' back-dated
    messages."""

    actor: Actor
    slug: str
    body: str
    client_id: str
    reply_to: int | None
    at: datetime | None = None
    files: tuple[int, ...] = ()
    topic: str | None = None
    # SQLite: `index_fields(body)` when the caller made them already, outside the write.
    search: tuple[str, str] | None = None


@dataclass(slots=True)
class Stored:
    """A send's outcome: its message id and seq; `new` is False for a repeated client_id.
    `data` is the new `message` event's data (its files); `topic` is the stored message's
    (a reply's is its parent's, when that has one); `at` a new message's created_at."""

    message_id: int
    seq: int
    new: bool
    data: dict[str, Any] = field(default_factory=dict)
    topic: str | None = None
    at: datetime | None = None


@dataclass(slots=True)
class _Room:
    ref: RoomRef
    last_seq: int
    slow_mode_seconds: int


@dataclass(slots=True)
class _Facts:
    bans: dict[tuple[int, int], Restriction] = field(default_factory=dict)
    mutes: dict[tuple[int, int], Restriction] = field(default_factory=dict)
    done: dict[tuple[int, int, str], tuple[int, int]] = field(default_factory=dict)
    last_post: dict[tuple[int, int], datetime] = field(default_factory=dict)
    replies: set[tuple[int, int]] = field(default_factory=set)
    files: dict[int, FileFact] = field(default_factory=dict)
    # A file's wire form in a `message` event: {"id","name","size","type"}.
    file_wire: dict[int, dict[str, Any]] = field(default_factory=dict)
    taken: set[int] = field(default_factory=set)
    # The database's time, read with the facts: the batch's decisions are at this moment.
    now: datetime | None = None


class KnownRooms:
    """The rooms this process last read (PostgreSQL: a hint for a lone send, never trusted).

    A stale entry only costs a round trip: the write checks every field it relied on
    against the row itself.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self.rooms: dict[str, _Room] = {}

    def get(self, slug: str) -> _Room | None:
        return self.rooms.get(slug)

    def learn(self, rooms: dict[str, _Room]) -> None:
        if len(self.rooms) + len(rooms) > self.LIMIT:
            self.rooms.clear()
        self.rooms.update(rooms)


# The read's rows, by name: a room ('R': room_id, seq = last_seq, slug, kind, locked,
# archived, slow) or a fact ('b' ban and 'm' mute: room_id, user_id, at = until; 'd' an
# earlier message: room_id, user_id, mid, seq, cid; 'l' a last post: room_id, user_id, at;
# 'r' a reply target: room_id, mid; 'N' the database's time: at).
_READ_COLUMNS = ("k", "room_id", "user_id", "at", "mid", "seq", "cid", "slug", "kind", "locked",
                 "archived", "slow")  # fmt: skip


def _parse(
    rows: Sequence[Mapping[str, Any]], at: Callable[[Any], datetime]
) -> tuple[dict[str, _Room], _Facts]:
    rooms: dict[str, _Room] = {}
    facts = _Facts()
    for row in rows:
        k, room_id, user_id = row["k"], row["room_id"], row["user_id"]
        if k == "R":
            kind, locked, archived = (
                RoomKind(row["kind"]),
                bool(row["locked"]),
                bool(row["archived"]),
            )
            ref = RoomRef(id=room_id, slug=row["slug"], kind=kind, locked=locked, archived=archived)
            rooms[ref.slug] = _Room(ref, int(row["seq"]), int(row["slow"]))
        elif k == "b":
            facts.bans[(room_id, user_id)] = Restriction(at(row["at"]))
        elif k == "m":
            facts.mutes[(room_id, user_id)] = Restriction(at(row["at"]))
        elif k == "d":
            facts.done[(room_id, user_id, row["cid"])] = (int(row["mid"]), int(row["seq"]))
        elif k == "l" and row["at"] is not None:
            facts.last_post[(room_id, user_id)] = at(row["at"])
        elif k == "r":
            facts.replies.add((room_id, int(row["mid"])))
        elif k == "N":
            facts.now = at(row["at"])
    return rooms, facts


# ---------------------------------------------------------------------------------------
# The planner


@dataclass(slots=True)
class _Repeat:
    """A repeat of the client_id of send `of` of this batch (its id is known after INSERT)."""

    of: int


@dataclass(slots=True)
class _Accepted:
    seq: int


_Result = Stored | DomainError | _Repeat | _Accepted | None


@dataclass(slots=True)
class _Row:
    """An accepted send to insert: its index in the batch, room, and planned seq."""

    i: int
    send: Send
    room: _Room
    seq: int
    data: dict[str, Any]
    at: datetime


@dataclass(slots=True)
class _Plan:
    """A batch decided: each send's outcome so far, and the rows to insert by room."""

    results: list[_Result]
    rows: dict[int, list[_Row]]

    def accepted_all(self) -> bool:
        return all(isinstance(r, _Accepted) for r in self.results)

    def store(self, room_id: int, stored: Sequence[tuple[int, int, str | None, datetime]]) -> None:
        """Record the room's rows as stored with these (seq, message id, topic, created_at),
        in seq order."""
        for row, (seq, mid, topic, at) in zip(self.rows[room_id], sorted(stored), strict=True):
            self.results[row.i] = Stored(mid, seq, True, row.data, topic, at)


def _plan(sends: Sequence[Send], rooms: dict[str, _Room], facts: _Facts, now: datetime) -> _Plan:
    """Decide each send in order, as the sequential path would, with the batch's own
    accepted sends counted as already stored (for slow mode and repeated client_ids); a
    live send at `now`."""
    results: list[_Result] = [None] * len(sends)
    rows: dict[int, list[_Row]] = {}
    next_seq = {r.ref.id: r.last_seq for r in rooms.values()}
    for i, s in enumerate(sends):
        room = rooms.get(s.slug)
        if room is None:
            results[i] = NotFound(f"no room {s.slug!r}")
            continue
        at = s.at or now
        decided = _decide(s, at, room, facts, next_seq, i)
        results[i] = decided
        if isinstance(decided, _Accepted):
            data = {"files": [facts.file_wire[f] for f in s.files]} if s.files else {}
            rows.setdefault(room.ref.id, []).append(_Row(i, s, room, decided.seq, data, at))
    return _Plan(results, rows)


def _decide(
    s: Send, at: datetime, room: _Room, facts: _Facts, next_seq: dict[int, int], i: int
) -> Stored | DomainError | _Repeat | _Accepted:
    rid, uid = room.ref.id, s.actor.user_id
    key = (rid, uid, s.client_id)
    try:
        check_post(s.actor, room.ref, facts.bans.get((rid, uid)), facts.mutes.get((rid, uid)), at)
        check_group_mention(s.actor, room.ref, s.body)
        if _slow(s, room):
            check_slow_mode(facts.last_post.get((rid, uid)), at, room.slow_mode_seconds)
    except DomainError as exc:
        # A resend of a message that made it before the refusal still gets its ack.
        return _repeat(facts, key) or exc
    if s.reply_to is not None and (rid, s.reply_to) not in facts.replies:
        return NotFound(f"no message {s.reply_to} in room {s.slug} to reply to")
    earlier = _repeat(facts, key)
    if earlier is not None:
        return earlier
    if s.files:
        try:
            check_attach(s.files, facts.files, rid, uid, facts.taken)
        except DomainError as exc:
            return exc
        facts.taken.update(s.files)
    next_seq[rid] += 1
    facts.done[key] = (-1 - i, 0)  # a negative id: stored by send i of this batch
    facts.last_post[(rid, uid)] = at
    return _Accepted(next_seq[rid])


def _slow(s: Send, room: _Room) -> bool:
    """Whether slow mode holds this send back (a moderator's never)."""
    return room.slow_mode_seconds > 0 and not may_moderate(s.actor, room.ref)


def _repeat(facts: _Facts, key: tuple[int, int, str]) -> Stored | _Repeat | None:
    done = facts.done.get(key)
    if done is None:
        return None
    mid, seq = done
    if mid < 0:
        return _Repeat(-1 - mid)
    return Stored(mid, seq, False)


def _resolve(results: list[_Result]) -> list[Stored | DomainError | None]:
    """The outcomes, a repeat of a send of this batch answered with its message; None for
    a send not stored yet."""
    out: list[Stored | DomainError | None] = []
    for r in results:
        if isinstance(r, _Repeat):
            first = results[r.of]
            out.append(
                Stored(first.message_id, first.seq, False) if isinstance(first, Stored) else None
            )
        elif isinstance(r, _Accepted):
            out.append(None)
        else:
            out.append(r)
    return out


# The rooms `r` of a batch, its keys `k` (room_id, user_id, cid) and their pairs `p`, as
# rows by name (`_READ_COLUMNS`); each dialect adds its own `WITH` (the keys as JSON or
# arrays) and `join` (SQLite: CROSS JOIN keeps the keys as the outer loop).
_FACTS = """
SELECT 'R' AS k, r.id AS room_id, CAST(NULL AS integer) AS user_id,
       CAST(NULL AS timestamptz) AS at, CAST(NULL AS bigint) AS mid, r.last_seq AS seq,
       CAST(NULL AS varchar) AS cid, r.slug, r.kind, r.locked, r.archived,
       r.slow_mode_seconds AS slow
  FROM r
UNION ALL
SELECT 'b', b.room_id, b.user_id, b.until, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM p {join} bans AS b ON b.room_id = p.room_id AND b.user_id = p.user_id
UNION ALL
SELECT 'm', u.room_id, u.user_id, u.until, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM p {join} mutes AS u ON u.room_id = p.room_id AND u.user_id = p.user_id
UNION ALL
SELECT 'd', m.room_id, m.author_id, NULL, m.id, m.seq, m.client_id, NULL, NULL, NULL, NULL,
       NULL
  FROM k {join} messages AS m
    ON m.author_id = k.user_id AND m.room_id = k.room_id AND m.client_id = k.cid
UNION ALL
SELECT 'l', p.room_id, p.user_id,
       (SELECT max(l.created_at) FROM messages AS l
        WHERE l.room_id = p.room_id AND l.author_id = p.user_id),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM p {join} rooms AS s ON s.id = p.room_id AND s.slow_mode_seconds > 0
UNION ALL
SELECT 'r', m.room_id, NULL, NULL, m.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM messages AS m WHERE m.id {replies}
UNION ALL
SELECT 'N', NULL, NULL, {now}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
"""


# ---------------------------------------------------------------------------------------
# SQLite: the read and the writes on the sqlite3 connection of the writer thread, in its
# transaction. The keys go as JSON: IN lists on the three columns of the idempotency index
# made it probe their cross product; CROSS JOIN keeps the keys as the outer loop.
_READ_SQLITE = """
WITH r AS (
  SELECT id, slug, kind, locked, archived, last_seq, slow_mode_seconds FROM rooms
  WHERE slug IN (SELECT value FROM json_each(:slugs))
), k AS (
  SELECT n.id AS room_id, json_extract(x.value, '$[1]') AS user_id,
         json_extract(x.value, '$[2]') AS cid
  FROM json_each(:keys) AS x CROSS JOIN rooms AS n ON n.slug = json_extract(x.value, '$[0]')
), p AS (SELECT room_id, user_id FROM k)  -- a repeated pair only repeats its facts
""" + _FACTS.format(  # noqa: S608
    join="CROSS JOIN",
    replies="IN (SELECT value FROM json_each(:replies))",
    # The write lock is held from here to the commit: created_at rises with seq.
    now="strftime('%Y-%m-%d %H:%M:%f', 'now')",
)
_SEQS_SQLITE = "UPDATE rooms SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq"
# A reply takes its parent's topic when the parent has one (rooms.conversations).
_MESSAGE_SQLITE = (
    "INSERT INTO messages (room_id, seq, author_id, client_id, body, reply_to, created_at,"
    " hidden, topic) VALUES (?, ?, ?, ?, ?, ?, ?, 0,"
    " coalesce((SELECT p.topic FROM messages AS p WHERE p.id = ?), ?)) RETURNING id, topic"
)
_EVENT_SQLITE = (
    "INSERT INTO events (room_id, seq, type, message_id, actor_id, data, created_at)"
    " VALUES (?, ?, 'message', ?, ?, ?, ?)"
)
_FILES_SQLITE = (
    "SELECT id, room_id, uploader_id, message_id IS NOT NULL OR meeting_id IS NOT NULL,"
    " name, size, media_type FROM files WHERE id IN (SELECT value FROM json_each(?))"
)
_ATTACH_SQLITE = "UPDATE files SET message_id = ? WHERE id = ? AND message_id IS NULL"
_NO_DATA = "{}"
_INDEX_SQLITE = f"INSERT INTO {fts.TABLE} (rowid, terms, parts) VALUES (?, ?, ?)"  # noqa: S608


class _SqliteTimes:
    """UTCDateTime's own conversions for SQLite (text columns), for the driver-level path."""

    def __init__(self) -> None:
        from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

        dialect = SQLiteDialect_pysqlite()
        impl = UTCDateTime().dialect_impl(dialect)
        self.bind: Any = impl.bind_processor(dialect)
        self.result: Any = impl.result_processor(dialect, None)


_TIMES = _SqliteTimes()


def _files_wanted(sends: Sequence[Send]) -> list[int]:
    return sorted({f for s in sends for f in s.files})


def _learn_files(facts: _Facts, rows: Sequence[Sequence[Any]]) -> None:
    """File rows (id, room_id, uploader_id, used, name, size, media_type) into the facts."""
    for file_id, room_id, uploader_id, used, name, size, media_type in rows:
        facts.files[int(file_id)] = FileFact(int(file_id), room_id, uploader_id, bool(used))
        facts.file_wire[int(file_id)] = {
            "id": int(file_id),
            "name": name,
            "size": int(size),
            "type": media_type,
        }


def _names(cursor: Any, row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(_READ_COLUMNS, row, strict=True))


def store_sqlite(driver: Any, sends: Sequence[Send]) -> list[Stored | DomainError]:
    """Store the sends on a sqlite3 connection in a transaction holding the write lock; the
    caller commits. Every send is decided, so none comes back None."""
    slugs = sorted({s.slug for s in sends if SLUG_RE.fullmatch(s.slug)})
    cur = driver.cursor()
    cur.row_factory = _names
    try:
        rooms: dict[str, _Room] = {}
        facts = _Facts()
        if slugs:
            params = {
                "slugs": json.dumps(slugs),
                "keys": json.dumps([[s.slug, s.actor.user_id, s.client_id] for s in sends]),
                "replies": json.dumps(
                    sorted({s.reply_to for s in sends if s.reply_to is not None})
                ),
            }
            rooms, facts = _parse(cur.execute(_READ_SQLITE, params).fetchall(), _TIMES.result)
        cur.row_factory = None
        wanted = _files_wanted(sends)
        if wanted:
            _learn_files(facts, cur.execute(_FILES_SQLITE, (json.dumps(wanted),)).fetchall())
        # No read (no room named): nothing is stored, the time decides nothing.
        plan = _plan(sends, rooms, facts, facts.now or utcnow())
        for room_id, rows in plan.rows.items():
            (top,) = cur.execute(_SEQS_SQLITE, (len(rows), room_id)).fetchone()
            if top != rows[-1].seq:
                # Someone took seqs of a room we hold: never store out of step.
                raise RuntimeError(f"room {room_id}: last_seq {top}, expected {rows[-1].seq}")
            stored = []
            for row in rows:
                s, at = row.send, _TIMES.bind(row.at)
                values = (room_id, row.seq, s.actor.user_id, s.client_id, s.body, s.reply_to, at,
                          s.reply_to, s.topic)  # fmt: skip
                mid, topic = cur.execute(_MESSAGE_SQLITE, values).fetchone()
                data = json.dumps(row.data) if row.data else _NO_DATA
                cur.execute(_EVENT_SQLITE, (room_id, row.seq, mid, s.actor.user_id, data, at))
                for file_id in s.files:
                    cur.execute(_ATTACH_SQLITE, (mid, file_id))
                if s.body:
                    cur.execute(_INDEX_SQLITE, (mid, *(s.search or index_fields(s.body))))
                stored.append((row.seq, int(mid), topic, row.at))
            plan.store(room_id, stored)
    finally:
        cur.close()
    out = _resolve(plan.results)
    assert all(r is not None for r in out)
    return out  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------
# PostgreSQL. The read: rooms and facts from one snapshot, as arrays; `{lock}` is empty, or
# FOR UPDATE for the locked path (rooms locked in slug order, the order of every batch's
# locks, so batches of several processes never deadlock).
_READ_PG = """
WITH r AS (
  SELECT id, slug, kind, locked, archived, last_seq, slow_mode_seconds FROM rooms
  WHERE slug = ANY($1::varchar[]) ORDER BY slug {lock}
), k AS (
  SELECT r.id AS room_id, x.user_id, x.cid
  FROM unnest($2::varchar[], $3::integer[], $4::varchar[]) AS x(slug, user_id, cid)
  JOIN r ON r.slug = x.slug
), p AS (SELECT DISTINCT room_id, user_id FROM k)
""" + _FACTS.format(join="JOIN", replies="= ANY($5::bigint[])", now="now()")  # noqa: S608
_FILES_PG = (
    "SELECT id, room_id, uploader_id, message_id IS NOT NULL OR meeting_id IS NOT NULL,"
    " name, size, media_type FROM files WHERE id = ANY($1::bigint[])"
)
_READ_PG_FREE = _READ_PG.format(lock="")
_READ_PG_LOCKED = _READ_PG.format(lock="FOR UPDATE")

# The write, one statement that commits by itself (or inside the locked path's
# transaction). It stores a room's sends only if the room's row is as the plan saw it
# (`seq`: its last_seq then; NULL for a room taken from `KnownRooms`, whose facts the plan
# assumed absent and this statement checks instead: no earlier message with the client_id,
# the reply target in the room, no post inside slow mode) and no author of its sends has a
# ban or mute that binds them (bans and mutes do not bump last_seq; `sanctions_bind`). It
# locks those rooms in slug order and checks last_seq again on the newest row versions
# once locked (every message, edit and moderation event bumps it), so a writer that
# committed meanwhile makes it skip the room. The seqs are the room's own, after the lock.
_WRITE_PG = """
WITH v AS (
  SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::varchar[],
                       $5::varchar[], $6::boolean[], $7::boolean[], $8::integer[])
    AS v(id, n, seq, slug, kind, locked, archived, slow)
), x AS (
  SELECT r, o, a, c, b, p, t AS given, coalesce(t, now()) AS t, bound, slow, f, d, tp, sp
  FROM unnest($9::integer[], $10::bigint[], $11::integer[], $12::varchar[], $13::text[],
              $14::bigint[], $15::timestamptz[], $16::boolean[], $17::integer[],
              $18::varchar[], $19::text[], $20::varchar[], $21::text[])
    AS x(r, o, a, c, b, p, t, bound, slow, f, d, tp, sp)
), barred AS (
  SELECT x.r FROM x JOIN bans AS b ON b.room_id = x.r AND b.user_id = x.a
  WHERE x.bound AND (b.until IS NULL OR b.until > x.t)
  UNION
  SELECT x.r FROM x JOIN mutes AS u ON u.room_id = x.r AND u.user_id = x.a
  WHERE x.bound AND u.until > x.t
{unchecked}  UNION
  SELECT x.r FROM x WHERE x.f <> '' AND cardinality(string_to_array(x.f, ',')) <> (
    SELECT count(*) FROM files AS g
    WHERE g.id = ANY(CAST(string_to_array(x.f, ',') AS bigint[])) AND g.room_id = x.r
      AND g.uploader_id = x.a AND g.message_id IS NULL AND g.meeting_id IS NULL)
), s AS (
  SELECT rooms.id, v.n, rooms.last_seq FROM rooms JOIN v ON rooms.id = v.id
  WHERE rooms.last_seq = coalesce(v.seq, rooms.last_seq)
    AND rooms.id NOT IN (SELECT r FROM barred)
), l AS MATERIALIZED (
  SELECT rooms.id, s.n, s.last_seq FROM rooms JOIN s ON rooms.id = s.id JOIN v ON v.id = s.id
  WHERE rooms.last_seq = s.last_seq AND rooms.slug = v.slug AND rooms.kind = v.kind
    AND rooms.locked = v.locked AND rooms.archived = v.archived
    AND rooms.slow_mode_seconds = v.slow
  ORDER BY rooms.slug
  FOR UPDATE OF rooms
), u AS (
  UPDATE rooms SET last_seq = rooms.last_seq + l.n FROM l
  WHERE rooms.id = l.id AND rooms.last_seq = l.last_seq
  -- One stamp per room, taken after its lock: a room's rows share it, so created_at
  -- never falls as seq rises, whatever order the join below emits them in.
  RETURNING rooms.id, l.last_seq AS base, clock_timestamp() AS at
), m AS (
  INSERT INTO messages (room_id, seq, author_id, client_id, body, reply_to, created_at, hidden,
                        topic, search_parts)
  SELECT x.r, u.base + x.o, x.a, x.c, x.b, x.p, coalesce(x.given, u.at), false,
         coalesce((SELECT pm.topic FROM messages AS pm WHERE pm.id = x.p), x.tp), x.sp
  FROM x JOIN u ON u.id = x.r
  RETURNING id, room_id, seq, author_id, client_id, created_at, topic
), mx AS (
  -- By the idempotency key, unique among the rows stored: one hash join, not a nested
  -- loop over the batch's rooms per row.
  SELECT m.*, x.f, x.d FROM m
  JOIN x ON x.r = m.room_id AND x.a = m.author_id AND x.c = m.client_id
), e AS (
  INSERT INTO events (room_id, seq, type, message_id, actor_id, data, created_at)
  SELECT room_id, seq, 'message', id, author_id, CAST(d AS json), created_at FROM mx
), g AS (
  UPDATE files SET message_id = mx.id FROM mx
  WHERE mx.f <> '' AND files.id = ANY(CAST(string_to_array(mx.f, ',') AS bigint[]))
    AND files.message_id IS NULL
)
SELECT room_id, seq, id, topic, created_at FROM m
"""
# The facts of a room taken from `KnownRooms`, which the write checks itself (`seq` NULL).
_UNCHECKED = """  UNION
  SELECT x.r FROM x JOIN v ON v.id = x.r AND v.seq IS NULL
  JOIN messages AS d ON d.author_id = x.a AND d.room_id = x.r AND d.client_id = x.c
  UNION
  SELECT x.r FROM x JOIN v ON v.id = x.r AND v.seq IS NULL
  WHERE x.p IS NOT NULL AND NOT EXISTS (SELECT FROM messages WHERE id = x.p AND room_id = x.r)
  UNION
  SELECT x.r FROM x JOIN v ON v.id = x.r AND v.seq IS NULL
  JOIN messages AS l ON l.room_id = x.r AND l.author_id = x.a
   AND l.created_at > x.t - make_interval(secs => x.slow)
"""
_WRITE_PG_KNOWN = _WRITE_PG.format(unchecked=_UNCHECKED)
# A batch whose facts were read: those branches would find nothing, yet cost planning.
_WRITE_PG_CHECKED = _WRITE_PG.format(unchecked="")


def _identity(value: Any) -> Any:
    return value


async def _read_pg(
    driver: Any, sends: Sequence[Send], query: str
) -> tuple[dict[str, _Room], _Facts]:
    slugs = sorted({s.slug for s in sends if SLUG_RE.fullmatch(s.slug)})
    if not slugs:
        return {}, _Facts()
    rows = await driver.fetch(
        query,
        slugs,
        [s.slug for s in sends],
        [s.actor.user_id for s in sends],
        [s.client_id for s in sends],
        sorted({s.reply_to for s in sends if s.reply_to is not None}),
    )
    rooms, facts = _parse(rows, _identity)
    wanted = _files_wanted(sends)
    if wanted:
        _learn_files(facts, await driver.fetch(_FILES_PG, wanted))
    return rooms, facts


async def _write_pg(driver: Any, plan: _Plan, checked: bool) -> set[int]:
    """Run `_WRITE_PG` for the plan's rows (`checked`: their rooms' facts were read); the
    rooms it stored."""
    rooms = [rows[0].room for rows in plan.rows.values()]
    rows = [row for taken in plan.rows.values() for row in taken]
    written = await driver.fetch(
        _WRITE_PG_CHECKED if checked else _WRITE_PG_KNOWN,
        [r.ref.id for r in rooms],
        [len(plan.rows[r.ref.id]) for r in rooms],
        [r.last_seq if checked else None for r in rooms],
        [r.ref.slug for r in rooms],
        [r.ref.kind.value for r in rooms],
        [r.ref.locked for r in rooms],
        [r.ref.archived for r in rooms],
        [r.slow_mode_seconds for r in rooms],
        [row.room.ref.id for row in rows],
        [row.seq - row.room.last_seq for row in rows],
        [row.send.actor.user_id for row in rows],
        [row.send.client_id for row in rows],
        [row.send.body for row in rows],
        [row.send.reply_to for row in rows],
        # A live send's time is the database's: now() decides, clock_timestamp() (taken
        # once per room after its lock, so created_at rises with seq) is stored.
        [row.send.at for row in rows],
        [sanctions_bind(row.send.actor, row.room.ref) for row in rows],
        [row.room.slow_mode_seconds if _slow(row.send, row.room) else None for row in rows],
        [",".join(map(str, row.send.files)) for row in rows],
        [json.dumps(row.data) if row.data else _NO_DATA for row in rows],
        [row.send.topic for row in rows],
        # Compounds are split in Python on both databases (persistence/search/compounds.py).
        [parts_text(row.send.body) for row in rows],
    )
    by_room: dict[int, list[tuple[int, int, str | None, datetime]]] = {}
    for r in written:
        row = (int(r["seq"]), int(r["id"]), r["topic"], r["created_at"])
        by_room.setdefault(r["room_id"], []).append(row)
    for room_id, stored in by_room.items():
        plan.store(room_id, stored)
    return set(by_room)


async def store_postgres(
    driver: Any, sends: Sequence[Send], known: KnownRooms
) -> list[Stored | DomainError]:
    """Store the sends on an asyncpg connection outside a transaction, in as few round
    trips as what happens meanwhile allows (see `_WRITE_PG`)."""
    # A send with files has facts to read first: never the one-round-trip path.
    lone = known.get(sends[0].slug) if len(sends) == 1 and not sends[0].files else None
    if lone is not None and lone.ref.slug == sends[0].slug:
        # A lone send of a known room: decided as if it met no ban, mute, repeat or
        # slow-mode post (so no time decides anything here), which the write checks at the
        # database's time; one round trip.
        plan = _plan(sends, {lone.ref.slug: lone}, _Facts(), utcnow())
        if plan.accepted_all() and await _write_pg(driver, plan, checked=False):
            return _resolve(plan.results)  # type: ignore[return-value]
    # Facts read without locks, then the checked write: two round trips, no lock between.
    rooms, facts = await _read_pg(driver, sends, _READ_PG_FREE)
    known.learn(rooms)
    plan = _plan(sends, rooms, facts, facts.now or utcnow())
    if plan.rows:
        await _write_pg(driver, plan, checked=True)
    results = _resolve(plan.results)
    for _ in range(3):
        # The rooms another writer changed meanwhile: all their sends decided again (their
        # refusals and repeats too: they may have depended on the batch's own sends).
        redo_rooms = {sends[i].slug for i, r in enumerate(results) if r is None}
        if not redo_rooms:
            return results  # type: ignore[return-value]
        redo = [i for i, s in enumerate(sends) if s.slug in redo_rooms]
        async with driver.transaction():
            rooms, facts = await _read_pg(driver, [sends[i] for i in redo], _READ_PG_LOCKED)
            plan = _plan([sends[i] for i in redo], rooms, facts, facts.now or utcnow())
            if plan.rows:
                await _write_pg(driver, plan, checked=True)
        known.learn(rooms)
        for i, r in zip(redo, _resolve(plan.results), strict=True):
            results[i] = r
    raise RuntimeError("send: rooms kept changing under a locked batch")

"""Storing sends: a batch set-based in SQLAlchemy Core, and a lone send in one call.

A batch (`store_sends`, in the caller's transaction) costs a fixed number of statements
whatever its size: the rooms (locked on PostgreSQL, in slug order, so batches of several
processes never deadlock), one query for the bans, mutes, earlier messages with the same
client_id, replied-to messages and (in slow-mode rooms) last posts, probed by the batch's
exact keys, one `UPDATE ... RETURNING` that takes the seqs of all its rooms, and
multi-row INSERTs for the messages, their events and (SQLite) the search rows; on
PostgreSQL the seqs, messages and events are one statement. Refused sends take no seq.
The decisions are made in Python, in the batch's order, exactly as if the sends had been
stored one after another.

That is the SQLite batch, and PostgreSQL's fallback. PostgreSQL's batch is two
self-committing statements on the driver (`store_batch_postgres`): rooms and facts read
without locks, then a write that stores only the rooms whose row is unchanged (docs/
realtime.md, "Group commit"); the other rooms' sends go to `store_sends` in a transaction.

A lone send takes one round trip (docs/realtime.md, "One send"): on PostgreSQL one
self-committing statement that stores it only if what the caller assumed still holds
(`store_one_postgres`, None otherwise: take the locked full path); on SQLite the whole
transaction on the driver's connection in the writer thread (`store_one_sqlite`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    String,
    any_,
    bindparam,
    case,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from persistence.models import Event, Message, Room, UTCDateTime
from persistence.search import sqlite as fts
from persistence.search.dutch import index_text
from rooms.access import check_post, may_moderate
from rooms.errors import DomainError, NotFound
from rooms.model import SLUG_RE, Actor, Restriction, RoomKind, RoomRef
from rooms.moderation import check_slow_mode


@dataclass(slots=True)
class Send:
    """One send as this module sees it (the author's wire form is the caller's business)."""

    actor: Actor
    slug: str
    body: str
    client_id: str
    reply_to: int | None
    at: datetime


@dataclass(slots=True)
class Stored:
    """A send's outcome: its message id and seq; `new` is False for a repeated client_id."""

    message_id: int
    seq: int
    new: bool


@dataclass(slots=True)
class _Room:
    ref: RoomRef
    last_seq: int
    slow_mode_seconds: int


_ROOM_COLS = (
    Room.id,
    Room.slug,
    Room.kind,
    Room.locked,
    Room.archived,
    Room.last_seq,
    Room.slow_mode_seconds,
)
_INSERT_MESSAGE = (
    insert(Message)
    .values(
        room_id=bindparam("room_id"),
        seq=bindparam("seq"),
        author_id=bindparam("author_id"),
        client_id=bindparam("client_id"),
        body=bindparam("body"),
        reply_to=bindparam("reply_to"),
        created_at=bindparam("created_at"),
        hidden=False,
    )
    .returning(Message.id, sort_by_parameter_order=True)
)
_INSERT_EVENT = insert(Event)


def _take_seqs(accepted: dict[int, list[tuple[int, Send]]]) -> Any:
    """`UPDATE rooms SET last_seq = last_seq + n(room) ... RETURNING id, last_seq`."""
    counts = {rid: len(taken) for rid, taken in accepted.items()}
    return (
        update(Room)
        .where(Room.id.in_(list(counts)))
        .values(last_seq=Room.last_seq + case(counts, value=Room.id))
        .returning(Room.id, Room.last_seq)
    )


_INDEX = text(f"INSERT INTO {fts.TABLE} (rowid, terms) VALUES (:id, :terms)")  # noqa: S608


def _in(name: str) -> Any:
    return bindparam(name, expanding=True)


_ROOMS = select(*_ROOM_COLS).where(Room.slug.in_(_in("slugs"))).order_by(Room.slug)
# PostgreSQL: rows are locked as they are read, in slug order (the global order of room
# locks); the slugs as one array, so that every batch has the same prepared statement.
_ROOMS_LOCKED = (
    select(*_ROOM_COLS)
    .where(Room.slug == any_(bindparam("slugs", type_=ARRAY(String))))
    .order_by(Room.slug)
    .with_for_update()
)


def _rooms(conn: Connection, slugs: Sequence[str], lock: bool) -> dict[str, _Room]:
    query = _ROOMS_LOCKED if lock else _ROOMS
    rooms: dict[str, _Room] = {}
    for rid, slug, kind, locked, archived, last_seq, slow in (
        conn.execute(query, {"slugs": slugs})
    ).all():
        ref = RoomRef(id=rid, slug=slug, kind=RoomKind(kind), locked=locked, archived=archived)
        rooms[slug] = _Room(ref, int(last_seq), int(slow))
    return rooms


# The facts of a batch as rows (k, room_id, user_id, at, mid, seq, cid), probed by the
# batch's exact keys: bans and mutes of its (room, author) pairs, earlier messages of its
# (author, room, client_id) keys, last posts of its pairs in slow-mode rooms, and its reply
# targets. One statement text for every batch size. SQLite takes the keys as JSON: IN
# lists on the three columns of the idempotency index made it probe their cross product.
_FACTS_SQLITE = text(
    """
WITH k AS (
  SELECT json_extract(value, '$[0]') AS room_id, json_extract(value, '$[1]') AS user_id,
         json_extract(value, '$[2]') AS cid
  FROM json_each(:keys)
), p AS (SELECT DISTINCT room_id, user_id FROM k)
SELECT 'b' AS k, b.room_id AS room_id, b.user_id AS user_id, b.until AS at, NULL AS mid,
       NULL AS seq, NULL AS cid
  FROM p CROSS JOIN bans AS b ON b.room_id = p.room_id AND b.user_id = p.user_id
UNION ALL
SELECT 'm', u.room_id, u.user_id, u.until, NULL, NULL, NULL
  FROM p CROSS JOIN mutes AS u ON u.room_id = p.room_id AND u.user_id = p.user_id
UNION ALL
SELECT 'd', m.room_id, m.author_id, m.created_at, m.id, m.seq, m.client_id
  FROM k CROSS JOIN messages AS m
    ON m.author_id = k.user_id AND m.room_id = k.room_id AND m.client_id = k.cid
UNION ALL
SELECT 'l', p.room_id, p.user_id,
       (SELECT max(l.created_at) FROM messages AS l
        WHERE l.room_id = p.room_id AND l.author_id = p.user_id), NULL, NULL, NULL
  FROM p WHERE p.room_id IN (SELECT value FROM json_each(:slow))
UNION ALL
SELECT 'r', r.room_id, NULL, NULL, r.id, NULL, NULL
  FROM messages AS r WHERE r.id IN (SELECT value FROM json_each(:replies))
"""
).columns(
    k=String,
    room_id=Integer,
    user_id=Integer,
    at=UTCDateTime(),
    mid=BigInteger,
    seq=BigInteger,
    cid=String,
)

# PostgreSQL: the same, the keys passed as arrays (prepared once per connection; the IN
# lists it replaced were the statement PostgreSQL was busiest with in W4).
_FACTS_PG = text(
    """
WITH k AS (
  SELECT * FROM unnest(CAST(:k_rooms AS integer[]), CAST(:k_users AS integer[]),
                       CAST(:k_cids AS varchar[])) AS k(room_id, user_id, cid)
), p AS (SELECT DISTINCT room_id, user_id FROM k)
SELECT 'b', b.room_id, b.user_id, b.until, CAST(NULL AS bigint), CAST(NULL AS bigint),
       CAST(NULL AS varchar)
  FROM bans AS b JOIN p ON b.room_id = p.room_id AND b.user_id = p.user_id
UNION ALL
SELECT 'm', u.room_id, u.user_id, u.until, NULL, NULL, NULL
  FROM mutes AS u JOIN p ON u.room_id = p.room_id AND u.user_id = p.user_id
UNION ALL
SELECT 'd', m.room_id, m.author_id, m.created_at, m.id, m.seq, m.client_id
  FROM k JOIN messages AS m
    ON m.author_id = k.user_id AND m.room_id = k.room_id AND m.client_id = k.cid
UNION ALL
SELECT 'l', p.room_id, p.user_id,
       (SELECT max(l.created_at) FROM messages AS l
        WHERE l.room_id = p.room_id AND l.author_id = p.user_id), NULL, NULL, NULL
  FROM p WHERE p.room_id = ANY(CAST(:slow AS integer[]))
UNION ALL
SELECT 'r', r.room_id, NULL, NULL, r.id, NULL, NULL
  FROM messages AS r WHERE r.id = ANY(CAST(:replies AS bigint[]))
"""
)


@dataclass(slots=True)
class _Facts:
    bans: dict[tuple[int, int], Restriction]
    mutes: dict[tuple[int, int], Restriction]
    done: dict[tuple[int, int, str], tuple[int, int]]
    last_post: dict[tuple[int, int], datetime]
    replies: set[tuple[int, int]]


def _facts(conn: Connection, sends: Sequence[tuple[Send, _Room]]) -> _Facts:
    """Bans, mutes, earlier messages by client_id, last posts and reply targets: one query."""
    rooms = [r.ref.id for _, r in sends]
    users = [s.actor.user_id for s, _ in sends]
    cids = [s.client_id for s, _ in sends]
    slow = sorted({r.ref.id for _, r in sends if r.slow_mode_seconds > 0})
    replies = sorted({s.reply_to for s, _ in sends if s.reply_to is not None})
    if conn.dialect.name == "postgresql":
        pg = {"k_rooms": rooms, "k_users": users, "k_cids": cids, "slow": slow, "replies": replies}
        return _parse_facts(conn.execute(_FACTS_PG, pg).all())
    params = {
        "keys": json.dumps([list(key) for key in zip(rooms, users, cids, strict=True)]),
        "slow": json.dumps(slow),
        "replies": json.dumps(replies),
    }
    return _parse_facts(conn.execute(_FACTS_SQLITE, params).all())


def _parse_facts(rows: Sequence[Any]) -> _Facts:
    facts = _Facts({}, {}, {}, {}, set())
    for k, room_id, user_id, at, mid, seq, cid in rows:
        if k == "b":
            facts.bans[(room_id, user_id)] = Restriction(at)
        elif k == "m":
            facts.mutes[(room_id, user_id)] = Restriction(at)
        elif k == "d":
            facts.done[(room_id, user_id, cid)] = (int(mid), int(seq))
        elif k == "l" and at is not None:
            facts.last_post[(room_id, user_id)] = at
        elif k == "r":
            facts.replies.add((room_id, int(mid)))
    return facts


def store_sends(
    conn: Connection,
    sends: Sequence[Send],
    *,
    lock_rooms: bool,
    index: bool,
    known: KnownRooms | None = None,
) -> list[Stored | DomainError]:
    """Store the sends in order, each refused or stored as if alone; see the module docstring.

    `lock_rooms` locks the rooms' rows first (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    holds the database); `index` writes the FTS5 rows (SQLite); `known` learns the rooms
    read. The caller commits.
    """
    slugs = sorted({s.slug for s in sends if SLUG_RE.fullmatch(s.slug)})
    rooms = _rooms(conn, slugs, lock_rooms) if slugs else {}
    if known is not None:
        known.learn(rooms)
    if not any(s.slug in rooms for s in sends):
        return _final(_plan(sends, rooms, _Facts({}, {}, {}, {}, set())).results)
    facts = _facts(conn, [(s, rooms[s.slug]) for s in sends if s.slug in rooms])
    plan = _plan(sends, rooms, facts)
    if not plan.rows:
        return _final(plan.results)
    if lock_rooms:
        ids = _write_postgres(conn, plan.rows, plan.accepted, plan.next_seq)
    else:
        ids = _write_sqlite(conn, plan.rows, plan.accepted, plan.next_seq, index)
    for row, mid in zip(plan.rows, ids, strict=True):
        plan.results[row["seq_of"]] = Stored(mid, row["seq"], True)
    return _final(plan.results)


@dataclass(slots=True)
class _Plan:
    """A batch decided: each send's outcome so far, the accepted sends by room, the rooms'
    seqs after them, and the rows to insert (in room order, each with its send's index)."""

    results: list[Stored | DomainError | _Repeat | _Accepted | None]
    accepted: dict[int, list[tuple[int, Send]]]
    next_seq: dict[int, int]
    rows: list[dict[str, Any]]


def _plan(sends: Sequence[Send], rooms: dict[str, _Room], facts: _Facts) -> _Plan:
    """Decide each send in order, as the sequential path would, with the batch's own
    accepted sends counted as already stored (for slow mode and repeated client_ids)."""
    results: list[Stored | DomainError | _Repeat | _Accepted | None] = [None] * len(sends)
    accepted: dict[int, list[tuple[int, Send]]] = {}
    next_seq = {r.ref.id: r.last_seq for r in rooms.values()}
    for i, s in enumerate(sends):
        room = rooms.get(s.slug)
        if room is None:
            results[i] = NotFound(f"no room {s.slug!r}")
        else:
            results[i] = _decide(s, room, facts, next_seq, accepted, i)
    rows: list[dict[str, Any]] = []
    for room_id, taken in accepted.items():
        for i, s in taken:
            pending = results[i]
            assert isinstance(pending, _Accepted)
            rows.append(
                {
                    "room_id": room_id,
                    "seq": pending.seq,
                    "author_id": s.actor.user_id,
                    "client_id": s.client_id,
                    "body": s.body,
                    "reply_to": s.reply_to,
                    "created_at": s.at,
                    "seq_of": i,
                }
            )
    return _Plan(results, accepted, next_seq, rows)


def _check_tops(tops: dict[int, int], next_seq: dict[int, int]) -> None:
    for room_id, top in tops.items():
        if int(top) != next_seq[room_id]:
            # Someone took seqs of a room we hold: never store out of step.
            raise RuntimeError(f"room {room_id}: last_seq {top}, expected {next_seq[room_id]}")


def _write_sqlite(
    conn: Connection,
    rows: list[dict[str, Any]],
    accepted: dict[int, list[tuple[int, Send]]],
    next_seq: dict[int, int],
    index: bool,
) -> list[int]:
    """The seqs (one UPDATE), messages, events and search rows: four statements."""
    _check_tops(dict((conn.execute(_take_seqs(accepted))).all()), next_seq)
    ids = [int(i) for i in (conn.execute(_INSERT_MESSAGE, rows)).scalars().all()]
    conn.execute(
        _INSERT_EVENT,
        [
            {
                "room_id": row["room_id"],
                "seq": row["seq"],
                "type": "message",
                "message_id": mid,
                "actor_id": row["author_id"],
                "data": {},
                "created_at": row["created_at"],
            }
            for row, mid in zip(rows, ids, strict=True)
        ],
    )
    if index:
        terms = [
            {"id": mid, "terms": index_text(row["body"])}
            for row, mid in zip(rows, ids, strict=True)
            if row["body"]
        ]
        if terms:
            conn.execute(_INDEX, terms)
    return ids


# PostgreSQL: the seqs, the messages and their events in one statement (one round trip),
# the rows passed as arrays. The rooms' rows are locked already, so the seqs computed from
# their last_seq are ours; the returned tops are checked all the same.
_WRITE_PG = text(
    """
WITH u AS (
  UPDATE rooms SET last_seq = rooms.last_seq + v.n
  FROM unnest(CAST(:u_ids AS integer[]), CAST(:u_ns AS bigint[])) AS v(id, n)
  WHERE rooms.id = v.id
  RETURNING rooms.id, rooms.last_seq
), m AS (
  INSERT INTO messages (room_id, seq, author_id, client_id, body, reply_to, created_at, hidden)
  SELECT r, q, a, c, b, p, t, false FROM unnest(
    CAST(:rooms AS integer[]), CAST(:seqs AS bigint[]), CAST(:authors AS integer[]),
    CAST(:cids AS varchar[]), CAST(:bodies AS text[]), CAST(:replies AS bigint[]),
    CAST(:ats AS timestamptz[])
  ) AS x(r, q, a, c, b, p, t)
  RETURNING id, room_id, seq, author_id, created_at
), e AS (
  INSERT INTO events (room_id, seq, type, message_id, actor_id, data, created_at)
  SELECT room_id, seq, 'message', id, author_id, CAST('{}' AS json), created_at FROM m
)
SELECT m.room_id, m.seq, m.id, (SELECT u.last_seq FROM u WHERE u.id = m.room_id) FROM m
"""
)


def _write_postgres(
    conn: Connection,
    rows: list[dict[str, Any]],
    accepted: dict[int, list[tuple[int, Send]]],
    next_seq: dict[int, int],
) -> list[int]:
    params = {
        "u_ids": list(accepted),
        "u_ns": [len(taken) for taken in accepted.values()],
        "rooms": [r["room_id"] for r in rows],
        "seqs": [r["seq"] for r in rows],
        "authors": [r["author_id"] for r in rows],
        "cids": [r["client_id"] for r in rows],
        "bodies": [r["body"] for r in rows],
        "replies": [r["reply_to"] for r in rows],
        "ats": [r["created_at"] for r in rows],
    }
    ids: dict[tuple[int, int], int] = {}
    tops: dict[int, int] = {}
    for room_id, seq, mid, top in (conn.execute(_WRITE_PG, params)).all():
        ids[(room_id, seq)] = int(mid)
        tops[room_id] = int(top)
    _check_tops(tops, next_seq)
    return [ids[(r["room_id"], r["seq"])] for r in rows]


# PostgreSQL, a batch in two self-committing statements on the driver (no BEGIN, no
# COMMIT, no lock held between them; docs/realtime.md, "Group commit"). The first reads
# the rooms and every fact of the batch from one snapshot, without locks; the batch is
# decided in Python from that. The second stores a room's sends only if its row is still
# as read (last_seq included: every message, edit and moderation event bumps it, so no
# message, client_id or slow-mode post can have appeared) and no author of its sends has
# an active ban or mute (these do not bump last_seq), as the lone send's statement does.
# It locks those rooms in slug order, the order of every batch's locks, and the checks on
# last_seq are made on the newest row versions once locked. The sends of a room it did not
# store are returned as None: the caller runs them again on the locked full path.
_READ_PG = """
WITH r AS (
  SELECT id, slug, kind, locked, archived, last_seq, slow_mode_seconds FROM rooms
  WHERE slug = ANY($1::varchar[])
), k AS (
  SELECT r.id AS room_id, x.user_id, x.cid
  FROM unnest($2::varchar[], $3::integer[], $4::varchar[]) AS x(slug, user_id, cid)
  JOIN r ON r.slug = x.slug
), p AS (SELECT DISTINCT room_id, user_id FROM k)
SELECT 'R', r.id, r.slow_mode_seconds, NULL::timestamptz, r.last_seq, NULL::bigint, r.slug,
       r.kind, r.locked, r.archived
  FROM r
UNION ALL
SELECT 'b', b.room_id, b.user_id, b.until, NULL, NULL, NULL, NULL, NULL, NULL
  FROM bans AS b JOIN p ON b.room_id = p.room_id AND b.user_id = p.user_id
UNION ALL
SELECT 'm', u.room_id, u.user_id, u.until, NULL, NULL, NULL, NULL, NULL, NULL
  FROM mutes AS u JOIN p ON u.room_id = p.room_id AND u.user_id = p.user_id
UNION ALL
SELECT 'd', m.room_id, m.author_id, m.created_at, m.id, m.seq, m.client_id, NULL, NULL, NULL
  FROM k JOIN messages AS m
    ON m.author_id = k.user_id AND m.room_id = k.room_id AND m.client_id = k.cid
UNION ALL
SELECT 'l', p.room_id, p.user_id,
       (SELECT max(l.created_at) FROM messages AS l
        WHERE l.room_id = p.room_id AND l.author_id = p.user_id),
       NULL, NULL, NULL, NULL, NULL, NULL
  FROM p JOIN r ON r.id = p.room_id WHERE r.slow_mode_seconds > 0
UNION ALL
SELECT 'r', m.room_id, NULL, NULL, m.id, NULL, NULL, NULL, NULL, NULL
  FROM messages AS m WHERE m.id = ANY($5::bigint[])
"""

_WRITE_CHECKED_PG = """
WITH v AS (
  SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::varchar[],
                       $5::varchar[], $6::boolean[], $7::boolean[], $8::integer[])
    AS v(id, n, seq, slug, kind, locked, archived, slow)
), x AS (
  SELECT * FROM unnest($9::integer[], $10::bigint[], $11::integer[], $12::varchar[],
                       $13::text[], $14::bigint[], $15::timestamptz[])
    AS x(r, q, a, c, b, p, t)
), barred AS (
  SELECT x.r FROM x JOIN bans AS b ON b.room_id = x.r AND b.user_id = x.a
  WHERE b.until IS NULL OR b.until > x.t
  UNION
  SELECT x.r FROM x JOIN mutes AS u ON u.room_id = x.r AND u.user_id = x.a
  WHERE u.until > x.t
), l AS MATERIALIZED (
  SELECT rooms.id, v.n, v.seq FROM rooms JOIN v ON rooms.id = v.id
  WHERE rooms.last_seq = v.seq AND rooms.slug = v.slug AND rooms.kind = v.kind
    AND rooms.locked = v.locked AND rooms.archived = v.archived
    AND rooms.slow_mode_seconds = v.slow AND rooms.id NOT IN (SELECT r FROM barred)
  ORDER BY rooms.slug
  FOR UPDATE OF rooms
), u AS (
  UPDATE rooms SET last_seq = rooms.last_seq + l.n FROM l
  WHERE rooms.id = l.id AND rooms.last_seq = l.seq
  RETURNING rooms.id
), m AS (
  INSERT INTO messages (room_id, seq, author_id, client_id, body, reply_to, created_at, hidden)
  SELECT x.r, x.q, x.a, x.c, x.b, x.p, x.t, false FROM x JOIN u ON u.id = x.r
  RETURNING id, room_id, seq, author_id, created_at
), e AS (
  INSERT INTO events (room_id, seq, type, message_id, actor_id, data, created_at)
  SELECT room_id, seq, 'message', id, author_id, CAST('{}' AS json), created_at FROM m
)
SELECT room_id, seq, id FROM m
"""


async def store_batch_postgres(
    driver: Any, sends: Sequence[Send], known: KnownRooms | None = None
) -> list[Stored | DomainError | None]:
    """A batch in two self-committing statements on an asyncpg connection outside a
    transaction (see above); None for the sends to store again on the full path."""
    slugs = sorted({s.slug for s in sends if SLUG_RE.fullmatch(s.slug)})
    rooms: dict[str, _Room] = {}
    facts = _Facts({}, {}, {}, {}, set())
    if slugs:
        replies = sorted({s.reply_to for s in sends if s.reply_to is not None})
        rows = await driver.fetch(
            _READ_PG,
            slugs,
            [s.slug for s in sends],
            [s.actor.user_id for s in sends],
            [s.client_id for s in sends],
            replies,
        )
        # A room's row: ('R', id, slow_mode_seconds, -, last_seq, -, slug, kind, locked,
        # archived); every other row is a fact in `_parse_facts`'s first seven columns.
        fact_rows = []
        for row in rows:
            if row[0] == "R":
                _, room_id, slow, _, last_seq, _, slug, kind, locked, archived = row
                ref = RoomRef(
                    id=room_id, slug=slug, kind=RoomKind(kind), locked=locked, archived=archived
                )
                rooms[slug] = _Room(ref, int(last_seq), int(slow))
            else:
                fact_rows.append(row[:7])
        facts = _parse_facts(fact_rows)
        if known is not None:
            known.learn(rooms)
    plan = _plan(sends, rooms, facts)
    if not plan.rows:
        return _resolve(plan.results)
    by_id = {r.ref.id: r for r in rooms.values()}
    taken = [by_id[rid] for rid in plan.accepted]
    rows = plan.rows
    written = await driver.fetch(
        _WRITE_CHECKED_PG,
        [r.ref.id for r in taken],
        [len(plan.accepted[r.ref.id]) for r in taken],
        [r.last_seq for r in taken],
        [r.ref.slug for r in taken],
        [r.ref.kind.value for r in taken],
        [r.ref.locked for r in taken],
        [r.ref.archived for r in taken],
        [r.slow_mode_seconds for r in taken],
        [row["room_id"] for row in rows],
        [row["seq"] for row in rows],
        [row["author_id"] for row in rows],
        [row["client_id"] for row in rows],
        [row["body"] for row in rows],
        [row["reply_to"] for row in rows],
        [row["created_at"] for row in rows],
    )
    ids = {(room_id, seq): int(mid) for room_id, seq, mid in written}
    stored_rooms = {room_id for room_id, _ in ids}
    for row in rows:
        if row["room_id"] in stored_rooms:
            plan.results[row["seq_of"]] = Stored(
                ids[(row["room_id"], row["seq"])], row["seq"], True
            )
    redo = {r.ref.slug for r in taken if r.ref.id not in stored_rooms}
    if not redo:
        return _resolve(plan.results)
    # Every send of a room not stored goes again (its refusals and repeats too: they may
    # have depended on the batch's own sends of that room).
    for i, s in enumerate(sends):
        if s.slug in redo:
            plan.results[i] = None
    return _resolve(plan.results)


def _final(
    results: list[Stored | DomainError | _Repeat | _Accepted | None],
) -> list[Stored | DomainError]:
    """Repeats of a client_id first used in this batch answer with the message just stored."""
    out = _resolve(results)
    assert all(r is not None for r in out)
    return out  # type: ignore[return-value]


def _resolve(
    results: list[Stored | DomainError | _Repeat | _Accepted | None],
) -> list[Stored | DomainError | None]:
    """`_final`, where None (a send to store again) stays None."""
    out: list[Stored | DomainError | None] = []
    for r in results:
        if isinstance(r, _Repeat):
            first = results[r.of]
            assert first is None or isinstance(first, Stored)
            out.append(None if first is None else Stored(first.message_id, first.seq, False))
        else:
            assert r is None or isinstance(r, Stored | DomainError)
            out.append(r)
    return out


@dataclass(slots=True)
class _Repeat:
    """A repeat of the client_id of send `of` of this batch (its id is known after INSERT)."""

    of: int


@dataclass(slots=True)
class _Accepted:
    seq: int


def _decide(
    s: Send,
    room: _Room,
    facts: _Facts,
    next_seq: dict[int, int],
    accepted: dict[int, list[tuple[int, Send]]],
    i: int,
) -> Stored | DomainError | _Repeat | _Accepted:
    rid, uid = room.ref.id, s.actor.user_id
    key = (rid, uid, s.client_id)
    try:
        check_post(s.actor, room.ref, facts.bans.get((rid, uid)), facts.mutes.get((rid, uid)), s.at)
        if room.slow_mode_seconds > 0 and not may_moderate(s.actor, room.ref):
            check_slow_mode(facts.last_post.get((rid, uid)), s.at, room.slow_mode_seconds)
    except DomainError as exc:
        # A resend of a message that made it before the refusal still gets its ack.
        return _repeat(facts, key) or exc
    if s.reply_to is not None and (rid, s.reply_to) not in facts.replies:
        return NotFound(f"no message {s.reply_to} in room {s.slug} to reply to")
    earlier = _repeat(facts, key)
    if earlier is not None:
        return earlier
    next_seq[rid] += 1
    accepted.setdefault(rid, []).append((i, s))
    facts.done[key] = (-1 - i, 0)  # a negative id: stored by send i of this batch
    facts.last_post[(rid, uid)] = s.at
    return _Accepted(next_seq[rid])


def _repeat(facts: _Facts, key: tuple[int, int, str]) -> Stored | _Repeat | None:
    done = facts.done.get(key)
    if done is None:
        return None
    mid, seq = done
    if mid < 0:
        return _Repeat(-1 - mid)
    return Stored(mid, seq, False)


class KnownRooms:
    """The rooms this process last read (a hint for `store_one_postgres`, never trusted).

    A stale entry only sends a send down the full path: the one-statement path checks
    every field it relied on against the row itself.
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


# PostgreSQL, one send in one statement (asyncpg, outside a transaction: the statement
# commits by itself). It stores the send only if every fact the caller assumed holds: the
# room's row as known, no active ban or mute, no earlier message with the client_id, the
# reply target in the room, no post within slow mode, and the room's last_seq unchanged
# since the statement's snapshot. That last condition is re-checked on the newest row
# version after the row lock is taken, so a writer that committed in between (every room
# event bumps last_seq) sends this one down the full path, as does any other mismatch: the
# statement then changed nothing and returns no row.
_ONE_PG = """
WITH r AS (
  SELECT id, last_seq FROM rooms
  WHERE id = $1 AND slug = $2 AND kind = $3 AND locked = $4 AND archived = $5
    AND slow_mode_seconds = $6
    AND NOT EXISTS (SELECT FROM bans WHERE room_id = $1 AND user_id = $7
                    AND (until IS NULL OR until > $11))
    AND NOT EXISTS (SELECT FROM mutes WHERE room_id = $1 AND user_id = $7 AND until > $11)
    AND NOT EXISTS (SELECT FROM messages WHERE author_id = $7 AND room_id = $1
                    AND client_id = $8)
    AND ($10::bigint IS NULL
         OR EXISTS (SELECT FROM messages WHERE id = $10 AND room_id = $1))
    AND ($12::timestamptz IS NULL
         OR NOT EXISTS (SELECT FROM messages WHERE room_id = $1 AND author_id = $7
                        AND created_at > $12))
), u AS (
  UPDATE rooms SET last_seq = rooms.last_seq + 1 FROM r
  WHERE rooms.id = r.id AND rooms.last_seq = r.last_seq AND rooms.slug = $2
    AND rooms.kind = $3 AND rooms.locked = $4 AND rooms.archived = $5
    AND rooms.slow_mode_seconds = $6
  RETURNING rooms.id, rooms.last_seq
), m AS (
  INSERT INTO messages (room_id, seq, author_id, client_id, body, reply_to, created_at, hidden)
  SELECT id, last_seq, $7, $8, $9, $10, $11, false FROM u
  RETURNING id, seq, room_id, author_id, created_at
), e AS (
  INSERT INTO events (room_id, seq, type, message_id, actor_id, data, created_at)
  SELECT room_id, seq, 'message', id, author_id, CAST('{}' AS json), created_at FROM m
)
SELECT id, seq FROM m
"""


async def store_one_postgres(driver: Any, s: Send, room: _Room) -> Stored | None:
    """One send in one round trip on an asyncpg connection outside a transaction, when the
    known room says it would be accepted; None when it was not stored (then take the full
    path, which decides it exactly).
    """
    ref = room.ref
    if ref.slug != s.slug:
        return None
    try:
        check_post(s.actor, ref, None, None, s.at)
    except DomainError:
        return None
    slow_since = None
    if room.slow_mode_seconds > 0 and not may_moderate(s.actor, ref):
        slow_since = s.at - timedelta(seconds=room.slow_mode_seconds)
    row = await driver.fetchrow(
        _ONE_PG,
        ref.id,
        ref.slug,
        ref.kind.value,
        ref.locked,
        ref.archived,
        room.slow_mode_seconds,
        s.actor.user_id,
        s.client_id,
        s.body,
        s.reply_to,
        s.at,
        slow_since,
    )
    if row is None:
        return None
    return Stored(int(row[0]), int(row[1]), True)


# SQLite, one send on the driver's connection inside the caller's BEGIN IMMEDIATE (which
# holds the database, so what is read stays true until the commit): the room and every fact
# `_decide` needs in one query, then the seq, the message, its event and its search row.
_ONE_SQLITE_FACTS = """
SELECT r.id, r.kind, r.locked, r.archived, r.last_seq, r.slow_mode_seconds,
  (SELECT 1 FROM bans WHERE room_id = r.id AND user_id = :u),
  (SELECT until FROM bans WHERE room_id = r.id AND user_id = :u),
  (SELECT until FROM mutes WHERE room_id = r.id AND user_id = :u),
  (SELECT id FROM messages WHERE author_id = :u AND room_id = r.id AND client_id = :c),
  (SELECT seq FROM messages WHERE author_id = :u AND room_id = r.id AND client_id = :c),
  CASE WHEN r.slow_mode_seconds > 0 THEN
    (SELECT max(created_at) FROM messages WHERE room_id = r.id AND author_id = :u) END,
  (SELECT 1 FROM messages WHERE id = :reply AND room_id = r.id)
FROM rooms AS r WHERE r.slug = :slug
"""
_ONE_SQLITE_SEQ = "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq"
_ONE_SQLITE_MESSAGE = (
    "INSERT INTO messages (room_id, seq, author_id, client_id, body, reply_to, created_at,"
    " hidden) VALUES (?, ?, ?, ?, ?, ?, ?, 0) RETURNING id"
)
_ONE_SQLITE_EVENT = (
    "INSERT INTO events (room_id, seq, type, message_id, actor_id, data, created_at)"
    " VALUES (?, ?, 'message', ?, ?, '{}', ?)"
)
_ONE_SQLITE_INDEX = f"INSERT INTO {fts.TABLE} (rowid, terms) VALUES (?, ?)"  # noqa: S608


class _SqliteTimes:
    """UTCDateTime's own conversions for SQLite (text columns), for the driver-level path."""

    def __init__(self) -> None:
        from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

        dialect = SQLiteDialect_pysqlite()
        impl = UTCDateTime().dialect_impl(dialect)
        self.bind: Any = impl.bind_processor(dialect)
        self.result: Any = impl.result_processor(dialect, None)


_TIMES = _SqliteTimes()


def store_one_sqlite(driver: Any, s: Send) -> Stored | DomainError:
    """One send on a sqlite3 connection in a transaction holding the write lock: decided by
    `_decide` like any batch, in five statements and no SQLAlchemy execution overhead."""
    if not SLUG_RE.fullmatch(s.slug):
        return NotFound(f"no room {s.slug!r}")
    uid = s.actor.user_id
    cur = driver.cursor()
    try:
        row = cur.execute(
            _ONE_SQLITE_FACTS, {"u": uid, "c": s.client_id, "reply": s.reply_to, "slug": s.slug}
        ).fetchone()
        if row is None:
            return NotFound(f"no room {s.slug!r}")
        rid, kind, locked, archived, last_seq, slow, banned, ban_until, mute_until = row[:9]
        done_id, done_seq, last_post, reply_ok = row[9:]
        ref = RoomRef(
            id=rid, slug=s.slug, kind=RoomKind(kind), locked=bool(locked), archived=bool(archived)
        )
        room = _Room(ref, int(last_seq), int(slow))
        facts = _Facts({}, {}, {}, {}, set())
        if banned is not None:
            facts.bans[(rid, uid)] = Restriction(_TIMES.result(ban_until))
        if mute_until is not None:
            facts.mutes[(rid, uid)] = Restriction(_TIMES.result(mute_until))
        if done_id is not None:
            facts.done[(rid, uid, s.client_id)] = (int(done_id), int(done_seq))
        if last_post is not None:
            facts.last_post[(rid, uid)] = _TIMES.result(last_post)
        if reply_ok is not None and s.reply_to is not None:
            facts.replies.add((rid, s.reply_to))
        next_seq = {rid: room.last_seq}
        decided = _decide(s, room, facts, next_seq, {}, 0)
        if not isinstance(decided, _Accepted):
            assert not isinstance(decided, _Repeat)  # a repeat within a batch of one: none
            return decided
        (top,) = cur.execute(_ONE_SQLITE_SEQ, (rid,)).fetchone()
        _check_tops({rid: top}, next_seq)
        at = _TIMES.bind(s.at)
        (mid,) = cur.execute(
            _ONE_SQLITE_MESSAGE, (rid, decided.seq, uid, s.client_id, s.body, s.reply_to, at)
        ).fetchone()
        cur.execute(_ONE_SQLITE_EVENT, (rid, decided.seq, mid, uid, at))
        if s.body:
            cur.execute(_ONE_SQLITE_INDEX, (mid, index_text(s.body)))
        return Stored(int(mid), decided.seq, True)
    finally:
        cur.close()

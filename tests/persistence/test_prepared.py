"""`Prepared` statements: the same rows on every path, in the caller's transaction."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, select, text, update
from sqlalchemy.exc import DBAPIError

from persistence import backlog, handshake
from persistence.accounts import create_session
from persistence.db import Database
from persistence.models import Room, User, utcnow
from persistence.prepared import Prepared
from tests.helpers import POSTGRES_ONLY
from tests.persistence.test_handshake import _history

_TOPIC = Prepared(select(Room.topic).where(Room.slug == bindparam("slug")))
_BROKEN = Prepared(text("SELECT * FROM no_such_table"))


async def test_a_read_outside_autocommit_sees_its_own_transaction(database: Database) -> None:
    """Outside autocommit the statement runs in the transaction SQLAlchemy began, so it
    sees that transaction's own uncommitted writes (on PostgreSQL: through the adapter,
    which begins its transaction lazily, not around it on the asyncpg connection)."""
    async with database.engine.connect() as conn:
        await conn.execute(update(Room).where(Room.slug == "theme-one").values(topic="nog niet"))
        got = await conn.run_sync(lambda c: _TOPIC.rows(c, {"slug": "theme-one"}))
        assert [tuple(r) for r in got] == [("nog niet",)]
        await conn.rollback()
    async with database.engine.connect() as conn:
        got = await conn.run_sync(lambda c: _TOPIC.rows(c, {"slug": "theme-one"}))
        assert [tuple(r) for r in got] != [("nog niet",)]


@POSTGRES_ONLY
async def test_autocommit_reads_answer_and_fail_as_sqlalchemy_does(database: Database) -> None:
    """In autocommit (PostgreSQL's set-up reads, straight on the asyncpg connection) a
    read gives the same rows, and a failing one raises SQLAlchemy's `DBAPIError`, not the
    driver's own exception, so that callers handle both paths alike."""
    async with database.held(autocommit=True) as conn:
        got = await conn.run_sync(lambda c: _TOPIC.rows(c, {"slug": "theme-one"}))
    async with database.engine.connect() as conn:
        expected = (await conn.execute(select(Room.topic).where(Room.slug == "theme-one"))).all()
    assert [tuple(r) for r in got] == [tuple(r) for r in expected]
    with pytest.raises(DBAPIError) as raised:
        async with database.held(autocommit=True) as conn:
            await conn.run_sync(lambda c: _BROKEN.rows(c))
    assert not raised.value.connection_invalidated
    assert not Database.is_disconnect(raised.value)


@POSTGRES_ONLY
async def test_a_first_read_outside_autocommit_is_inside_the_transaction(
    database: Database,
) -> None:
    """The adapter begins PostgreSQL's transaction at its first statement: a prepared read
    that comes first must begin it too, not run before it on its own."""
    txid = Prepared(text("SELECT txid_current()"))
    async with database.engine.connect() as conn:
        [[first]] = await conn.run_sync(lambda c: txid.rows(c))
        second = (await conn.execute(text("SELECT txid_current()"))).scalar_one()
        await conn.rollback()
    assert first == second


def _statements(conn: Connection, ids: dict[str, Any]) -> list[tuple[Prepared, dict[str, Any]]]:
    """Every prepared statement of `persistence`, with parameters that find rows whose
    processed columns (dates, booleans) are set."""
    amy, theme = ids["amy"], ids["theme-one"]
    now = utcnow()
    pairs: list[tuple[Prepared, dict[str, Any]]] = [
        (handshake._LOGIN, {"token_hash": "a" * 64, "now": now}),
        (handshake._ACTOR[True], {"user_id": amy}),
        (handshake._ACTOR[False], {"user_id": amy}),
        (handshake._ROOM_ACCESS, {"slug": "meeting-one", "user_id": amy}),
        (handshake._MEETINGS, {}),
        (backlog._EVENTS, {"room_id": theme, "after": 0, "upto": 100}),
    ]
    authors = [amy, ids["ann"]]
    given = json.dumps(authors) if conn.dialect.name == "sqlite" else authors
    pairs.append((backlog._AUTHORS[conn.dialect.name], {"ids": given}))
    patterns = handshake._mention_patterns("amy", "provincie")
    if conn.dialect.name == "sqlite":
        mine = (amy, patterns["pattern"], patterns["layer_pattern"])
        windows = json.dumps([[1, theme, 0, 8, *mine], [1, ids["area-a"], 0, 8, *mine]])
        params = {"windows": windows, "area_pattern": patterns["area_pattern"]}
        pairs.append((handshake._UNREAD_SQLITE, params))
        users = {"user_ids": json.dumps([amy, ids["bob"]])}
        pairs.append((handshake._ROOM_FACTS_SQLITE, users))
        pairs.append((handshake._MINE_SQLITE, users))
    else:
        params = {
            "user_ids": [amy, amy],
            "patterns": [patterns["pattern"]] * 2,
            "layer_patterns": [patterns["layer_pattern"]] * 2,
            "area_pattern": patterns["area_pattern"],
            "every_area": [False, True],
            "areas": [f"{{{theme}}}", "{}"],
        }
        pairs.append((handshake._ROOMS_UNREAD_PG, params))
        hashes = {"token_hashes": ["a" * 64, "b" * 64], "now": now}
        pairs.append((handshake._LOGINS_PG, hashes))
    return pairs


def _compare(
    conn: Connection, ids: dict[str, Any], normal: dict[int, list[tuple[Any, ...]]]
) -> None:
    for n, (prepared, params) in enumerate(_statements(conn, ids)):
        got = [tuple(r) for r in prepared.rows(conn, params)]
        if n not in normal:
            shape = prepared.row or (lambda *values: values)
            normal[n] = [tuple(shape(*r)) for r in conn.execute(prepared.statement, params)]
        assert got == normal[n], prepared.statement
        assert got, f"no rows to compare for {prepared.statement}"


async def test_every_prepared_statement_gives_what_sqlalchemy_gives(database: Database) -> None:
    """Each of `persistence`'s prepared statements, its parameters and columns converted by
    the processors `Prepared` takes from SQLAlchemy's documented type interface, gives the
    rows SQLAlchemy's own execution gives (dates, booleans included), on every path."""
    await _history(database)
    async with database.write() as s:
        users = {u.username: u.id for u in (await s.execute(select(User))).scalars()}
        rooms = {r.slug: r.id for r in (await s.execute(select(Room))).scalars()}
        await create_session(s, users["amy"], "a" * 64, utcnow() + timedelta(days=1))
    ids = {**users, **rooms}
    normal: dict[int, list[tuple[Any, ...]]] = {}
    async with database.engine.connect() as conn:
        await conn.run_sync(_compare, ids, normal)
    if not database.is_sqlite:
        # The set-up reads' path: straight on the asyncpg connection, in autocommit.
        async with database.held(autocommit=True) as conn:
            await conn.run_sync(_compare, ids, normal)

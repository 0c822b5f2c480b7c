"""`Prepared` statements: the same rows on every path, in the caller's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.exc import DBAPIError

from persistence.db import Database
from persistence.models import Room
from persistence.prepared import Prepared

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


async def test_autocommit_reads_answer_and_fail_as_sqlalchemy_does(database: Database) -> None:
    """In autocommit (PostgreSQL's set-up reads, straight on the asyncpg connection) a
    read gives the same rows, and a failing one raises SQLAlchemy's `DBAPIError`, not the
    driver's own exception, so that callers handle both paths alike."""
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's set-up reads have their own connection")
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


async def test_a_first_read_outside_autocommit_is_inside_the_transaction(
    database: Database,
) -> None:
    """The adapter begins PostgreSQL's transaction at its first statement: a prepared read
    that comes first must begin it too, not run before it on its own."""
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: transaction ids")
    txid = Prepared(text("SELECT txid_current()"))
    async with database.engine.connect() as conn:
        [[first]] = await conn.run_sync(lambda c: txid.rows(c))
        second = (await conn.execute(text("SELECT txid_current()"))).scalar_one()
        await conn.rollback()
    assert first == second

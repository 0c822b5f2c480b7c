"""Set-based sends (persistence/sends.py via chat.store): a batch decides each send as if
the sends had been stored one after another, and takes seqs only for the accepted ones."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from chat import store
from chat.frames import Author
from chat.store import Acked, SendRequest
from persistence.accounts import actor_for, user_by_name
from persistence.db import Database
from persistence.models import Ban, Event, Message, Mute, Room, User, utcnow
from persistence.rooms import ban_of, mute_of, room_ref
from persistence.sends import KnownRooms, Send, Stored, store_postgres
from rooms.access import check_post
from rooms.errors import DomainError, Forbidden, Muted, NotFound, RateLimited
from tests.helpers import POSTGRES_ONLY
from tests.persistence import send_writer
from tests.persistence.posting import post
from web.wire import author_wire


async def request(
    db: Database, username: str, room: str, client_id: str, reply_to: int | None = None
) -> SendRequest:
    async with db.read() as session:
        user = await user_by_name(session, username)
        assert user is not None
        actor = await actor_for(session, user)
        return SendRequest(
            actor, Author(**author_wire(user)), room, f"bericht {client_id}", client_id, reply_to
        )


async def sanction(db: Database, kind: type[Ban] | type[Mute], username: str, slug: str) -> None:
    async with db.write() as s:
        user = (await s.execute(select(User.id).where(User.username == username))).scalar_one()
        room = (await s.execute(select(Room.id).where(Room.slug == slug))).scalar_one()
        s.add(kind(room_id=room, user_id=user, until=utcnow() + timedelta(hours=1)))


async def room_rows(db: Database, slug: str) -> tuple[list[int], list[int], int]:
    """The room's event seqs, message seqs and last_seq."""
    async with db.read() as s:
        room = (await s.execute(select(Room).where(Room.slug == slug))).scalar_one()
        events = (
            await s.execute(select(Event.seq).where(Event.room_id == room.id).order_by(Event.seq))
        ).scalars()
        messages = (
            await s.execute(
                select(Message.seq).where(Message.room_id == room.id).order_by(Message.seq)
            )
        ).scalars()
        return list(events), list(messages), room.last_seq


async def test_repeats_within_one_batch_answer_the_first(database: Database) -> None:
    """Two sends of a batch with one client_id: one message, the other gets its ack."""
    batch = [
        await request(database, "ann", "theme-one", "x"),
        await request(database, "ann", "theme-one", "x"),
        await request(database, "amy", "theme-one", "x"),  # another author: a new message
        await request(database, "ann", "theme-two", "x"),  # another room: a new message
        await request(database, "ann", "theme-one", "y"),
    ]
    results = await store.post_many(database, batch)
    assert all(isinstance(r, Acked) for r in results)
    acks: list[Acked] = [r for r in results if isinstance(r, Acked)]
    assert acks[0].event is not None and acks[1].event is None
    assert (acks[1].message_id, acks[1].seq) == (acks[0].message_id, acks[0].seq)
    assert [acks[0].seq, acks[2].seq, acks[4].seq] == [1, 2, 3]
    assert acks[3].seq == 1
    assert await room_rows(database, "theme-one") == ([1, 2, 3], [1, 2, 3], 3)
    # And across batches, the same answer again.
    again = await store.post(database, await request(database, "ann", "theme-one", "x"))
    assert (again.message_id, again.seq, again.event) == (acks[0].message_id, 1, None)


async def test_refusals_mixed_with_accepted_sends_take_no_seq(database: Database) -> None:
    await sanction(database, Mute, "bob", "theme-one")
    await sanction(database, Ban, "amy", "theme-one")
    first = await store.post(database, await request(database, "ann", "theme-one", "a"))
    batch = [
        await request(database, "bob", "theme-one", "b1"),  # muted
        await request(database, "ann", "theme-one", "a2", reply_to=first.message_id),
        await request(database, "amy", "theme-one", "c1"),  # banned
        await request(database, "ann", "theme-one", "a3", reply_to=999_999),  # no such message
        await request(database, "ann", "area-b", "a4"),  # ann may not read area-b
        await request(database, "ann", "no-such-room", "a5"),
        await request(database, "ann", "Bad Slug!", "a6"),
        await request(database, "rita", "theme-one", "r1"),
    ]
    results = await store.post_many(database, batch)
    assert isinstance(results[0], Muted)
    assert isinstance(results[1], Acked) and results[1].seq == 2
    assert results[1].event is not None and results[1].event.reply_to == first.message_id
    assert isinstance(results[2], Forbidden)
    assert isinstance(results[3], NotFound)
    assert isinstance(results[4], Forbidden)
    assert isinstance(results[5], NotFound) and isinstance(results[6], NotFound)
    assert isinstance(results[7], Acked) and results[7].seq == 3
    assert await room_rows(database, "theme-one") == ([1, 2, 3], [1, 2, 3], 3)


async def test_slow_mode_counts_the_batch_own_sends(database: Database) -> None:
    """In slow mode the second send of one author in a batch is refused, a repeat of the
    first's client_id still gets the original ack, and a moderator is exempt."""
    async with database.write() as s:
        await s.execute(update(Room).where(Room.slug == "theme-two").values(slow_mode_seconds=60))
    batch = [
        await request(database, "ann", "theme-two", "s1"),
        await request(database, "ann", "theme-two", "s2"),
        await request(database, "ann", "theme-two", "s1"),
        await request(database, "mo", "theme-two", "m1"),
        await request(database, "mo", "theme-two", "m2"),
    ]
    results = await store.post_many(database, batch)
    assert isinstance(results[0], Acked) and results[0].seq == 1
    assert isinstance(results[1], RateLimited)
    assert isinstance(results[2], Acked) and (results[2].seq, results[2].event) == (1, None)
    assert [r.seq for r in results[3:] if isinstance(r, Acked)] == [2, 3]
    with pytest.raises(RateLimited):
        await store.post(database, await request(database, "ann", "theme-two", "s3"))


def _trace(driver: sqlite3.Connection, callback: Callable[[str], None] | None) -> None:
    driver.set_trace_callback(callback)


async def test_a_single_send_takes_few_statements(database: Database) -> None:
    """The statements of one send with no load, counted at the driver, commit included."""
    req = await request(database, "ann", "theme-one", "one")
    await store.post(database, await request(database, "ann", "theme-one", "warm"))
    statements: list[str] = []

    def count(sql: str) -> None:
        if not sql.startswith("--"):  # SQLite's trace of FTS5's own statements
            statements.append(sql.split()[0].upper())

    if database.is_sqlite:
        # The writer thread's connection (the one it keeps).
        await database.run_in_writer(lambda driver: _trace(driver, count))
        statements.clear()  # that transaction's COMMIT
        await store.post(database, req)
        sent = list(statements)
        await database.run_in_writer(lambda driver: _trace(driver, None))
        # BEGIN, room and facts, seq, message, event, search row, COMMIT.
        assert sent == ["BEGIN", "WITH", "UPDATE", "INSERT", "INSERT", "INSERT", "COMMIT"]
        return
    async with database.held(lone=True) as conn:  # the connection the send will take next
        driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None

    def logged(query: Any) -> None:
        count(query.query)

    driver.add_query_logger(logged)
    try:
        await store.post(database, req)
        await asyncio.sleep(0)  # asyncpg calls its loggers soon after the query
    finally:
        driver.remove_query_logger(logged)
    # A room it knows: the whole send is one statement that commits by itself.
    assert statements == ["WITH"], statements


async def run_writers(db_url: str, rooms: str, users: list[str], per: int, *mode: str) -> None:
    """One `tests.persistence.send_writer` process per user, all at once; each must succeed."""
    await send_writer.run_all(
        [[db_url, rooms, user, str(per), f"p{n}", *mode] for n, user in enumerate(users)]
    )


@pytest.mark.slow
async def test_group_commits_of_several_processes_keep_seqs_gap_free(
    db_url: str, database: Database
) -> None:
    """Three OS processes, each with its own group commit, send to two rooms at once."""
    users, per = ["ann", "amy", "rita"], 120
    await run_writers(db_url, "theme-one,theme-two", users, per)
    total = 0
    for slug in ("theme-one", "theme-two"):
        events, messages, last = await room_rows(database, slug)
        assert events == messages == list(range(1, last + 1))
        total += last
    # Every tenth send repeated its predecessor's client_id: stored once.
    assert total == len(users) * (per - per // 10)
    async with database.read() as s:
        n = (await s.execute(select(func.count()).select_from(Message))).scalar_one()
    assert n == total


@pytest.mark.slow
async def test_batches_and_lone_sends_share_a_room_without_gaps(
    db_url: str, database: Database
) -> None:
    """Group commits and lone sends, one after another, writing one room from separate
    processes: one gap-free stream."""
    await send_writer.run_all(
        [[db_url, "theme-one", user, "60", f"g{n}"] for n, user in enumerate(["ann", "amy"])]
        + [[db_url, "theme-one", "rita", "40", "s", "serial"]]
    )
    events, messages, last = await room_rows(database, "theme-one")
    assert events == messages == list(range(1, last + 1))
    assert last == 2 * (60 - 6) + (40 - 4)


class _Between:
    """An asyncpg connection whose first statement is followed by `then` (another writer
    committing between a batch's two statements)."""

    def __init__(self, driver: Any, then: Callable[[], Awaitable[None]]) -> None:
        self.driver, self.then, self.calls = driver, then, 0

    async def fetch(self, *args: Any) -> Any:
        rows = await self.driver.fetch(*args)
        self.calls += 1
        if self.calls == 1:
            await self.then()
        return rows

    def transaction(self) -> Any:
        return self.driver.transaction()


@POSTGRES_ONLY
async def test_a_room_written_between_a_batch_statements_goes_the_full_path(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's two-statement batch: a message committed in one of its rooms, and a mute
    in another, after the facts were read. Those rooms' sends are decided again, locked;
    the untouched room is stored by the second statement."""
    async with database.read() as s:
        ids = dict((await s.execute(select(Room.slug, Room.id))).all())
        users = dict((await s.execute(select(User.username, User.id))).all())
    other = Database(database.url)

    async def meanwhile() -> None:
        await post(other, "theme-one", "rita", "tussendoor", "r-between")
        async with other.write() as s:
            u = utcnow() + timedelta(hours=1)
            s.add(Mute(room_id=ids["theme-two"], user_id=users["bob"], until=u))

    seen: list[_Between] = []
    real = store_postgres

    async def between(driver: Any, sends: Any, known: Any) -> Any:
        if seen:  # `meanwhile`'s own send
            return await real(driver, sends, known)
        seen.append(_Between(driver, meanwhile))
        return await real(seen[-1], sends, known)

    monkeypatch.setattr(store, "store_postgres", between)
    batch = [
        await request(database, "ann", "theme-one", "a1"),
        await request(database, "ann", "theme-one", "a1"),  # a repeat within the batch
        await request(database, "bob", "theme-two", "b1"),
        await request(database, "amy", "theme-two", "m1"),
        await request(database, "amy", "meeting-one", "m2"),
    ]
    try:
        results = await store.post_many(database, batch)
    finally:
        await other.dispose()
    assert [b.calls for b in seen] == [4]  # read, write; locked: read, write
    a1, again, muted, m1, m2 = results
    assert isinstance(a1, Acked) and a1.seq == 2  # after rita's message
    assert isinstance(again, Acked) and (again.message_id, again.event) == (a1.message_id, None)
    assert isinstance(muted, Muted)
    assert isinstance(m1, Acked) and m1.seq == 1
    assert isinstance(m2, Acked) and m2.seq == 1
    assert await room_rows(database, "theme-one") == ([1, 2], [1, 2], 2)
    assert await room_rows(database, "theme-two") == ([1], [1], 1)


@POSTGRES_ONLY
async def test_lone_sends_and_batches_plan_apart(database: Database) -> None:
    """A batch of one goes to a connection that may keep generic plans; a batch of more to
    one that plans every call (a generic plan made for one room is ruinous for many)."""
    batch = [
        await request(database, "ann", "theme-one", "b1"),
        await request(database, "amy", "theme-two", "b2"),
    ]
    lone = await request(database, "ann", "theme-one", "l1")
    await store.post_many(database, batch)
    await store.post(database, lone)
    modes = {}
    for name in ("batch", "lone"):
        async with database.held(lone=name == "lone") as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            modes[name] = await driver.fetchval("SHOW plan_cache_mode")
            count = await driver.fetchval("SELECT count(*) FROM messages WHERE client_id = 'b2'")
            assert count == 1
    assert modes == {"batch": "force_custom_plan", "lone": "auto"}


@POSTGRES_ONLY
async def test_a_batch_stamps_created_at_in_seq_order(database: Database) -> None:
    """One stamp per room after its lock: whatever order the write's join emits a batch's
    rows in, created_at never falls as seq rises, in messages and in events."""
    names = ("ann", "amy", "rita")
    batch = [await request(database, names[n % 3], "theme-one", f"o{n}") for n in range(60)]
    assert all(isinstance(r, Acked) for r in await store.post_many(database, batch))
    async with database.read() as s:
        for model in (Message, Event):
            stamps = list(
                (
                    await s.execute(
                        select(model.created_at)
                        .join(Room, Room.id == model.room_id)
                        .where(Room.slug == "theme-one")
                        .order_by(model.seq)
                    )
                ).scalars()
            )
            assert len(stamps) == 60 and stamps == sorted(stamps), model


@POSTGRES_ONLY
async def test_a_batch_is_two_statements_on_postgresql(database: Database) -> None:
    """Facts, then the checked write: no BEGIN, no COMMIT, no lock held in between."""
    batch = [
        await request(database, "ann", "theme-one", "p1"),
        await request(database, "amy", "theme-two", "p2"),
        await request(database, "ann", "theme-one", "p3"),
    ]
    # asyncpg introspects the array types once per connection: warm it up.
    await store.post_many(database, [await request(database, "rita", "meeting-one", "w")] * 2)
    async with database.held() as conn:  # the connection the batch will take next
        driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    statements: list[str] = []

    def logged(query: Any) -> None:
        statements.append(query.query.split()[0].upper())

    driver.add_query_logger(logged)
    try:
        results = await store.post_many(database, batch)
        await asyncio.sleep(0)  # asyncpg calls its loggers soon after the query
    finally:
        driver.remove_query_logger(logged)
    assert [r.seq for r in results if isinstance(r, Acked)] == [1, 1, 2]
    assert statements == ["WITH", "WITH"], statements


class _Counting:
    """An asyncpg connection that counts its statements."""

    def __init__(self, driver: Any) -> None:
        self.driver, self.calls = driver, 0

    async def fetch(self, *args: Any) -> Any:
        self.calls += 1
        return await self.driver.fetch(*args)

    def transaction(self) -> Any:
        return self.driver.transaction()


_UNTILS = {"none": None, "lifted": timedelta(hours=-1), "active": timedelta(hours=1)}


@POSTGRES_ONLY
async def test_the_write_rechecks_sanctions_as_check_post_decides(database: Database) -> None:
    """A lone send of a known room, for a member and the room's moderator under every ban
    and mute: the one statement stores it exactly when `check_post` allows it."""
    async with database.read() as s:
        room_id = (await s.execute(select(Room.id).where(Room.slug == "area-a"))).scalar_one()
        actors = {}
        for name in ("amy", "rita"):
            user = await user_by_name(s, name)
            assert user is not None
            actors[name] = await actor_for(s, user)
    known = KnownRooms()
    async with database.held() as conn:  # the room, known from here on
        learn = Send(actors["amy"], "area-a", "hoi", "learn", None, utcnow())
        await store_postgres(_driver_of(conn), [learn], known)
    n = 0
    for name, actor in actors.items():
        for ban_kind, ban_delta in {**_UNTILS, "forever": None}.items():
            for mute_kind, mute_delta in _UNTILS.items():
                async with database.write() as s:
                    await s.execute(delete(Ban).where(Ban.room_id == room_id))
                    await s.execute(delete(Mute).where(Mute.room_id == room_id))
                    now = utcnow()
                    if ban_kind != "none":
                        until = None if ban_delta is None else now + ban_delta
                        s.add(Ban(room_id=room_id, user_id=actor.user_id, until=until))
                    if mute_kind != "none":
                        assert mute_delta is not None
                        s.add(Mute(room_id=room_id, user_id=actor.user_id, until=now + mute_delta))
                n += 1
                send = Send(actor, "area-a", "hoi", f"tie-{n}", None, utcnow())
                async with database.held() as conn:
                    counting = _Counting(_driver_of(conn))
                    [result] = await store_postgres(counting, [send], known)
                async with database.read() as s:
                    ban = await ban_of(s, room_id, actor.user_id)
                    mute = await mute_of(s, room_id, actor.user_id)
                    room = room_ref(await s.get_one(Room, room_id))
                try:
                    check_post(actor, room, ban, mute, send.at)
                except DomainError as exc:
                    assert type(result) is type(exc), (name, ban_kind, mute_kind)
                    continue
                assert isinstance(result, Stored) and result.new, (name, ban_kind, mute_kind)
                assert counting.calls == 1, (name, ban_kind, mute_kind)


def _driver_of(conn: Any) -> Any:
    return conn.sync_connection.connection.driver_connection

"""A single send (a batch of one in `persistence.sends`):
every refusal and repeat answers exactly as the full path does, a room that changed since
this process last read it is noticed, and a writer that commits while the send waits for
the room's lock sends it down the full path with the right seq."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import select, text, update

from chat import store
from chat.store import Acked
from persistence.db import Database
from persistence.events import append_event
from persistence.models import Ban, Mute, Room, User
from rooms.errors import Forbidden, Muted, NotFound, RateLimited, RoomLocked
from tests.helpers import POSTGRES_ONLY, SQLITE_ONLY
from tests.persistence.test_sends import request, room_rows, run_writers, sanction


async def send(db: Database, username: str, client_id: str, reply_to: int | None = None) -> Acked:
    return await store.post(db, await request(db, username, "theme-one", client_id, reply_to))


async def test_refusals_and_repeats_of_single_sends(database: Database) -> None:
    first = await send(database, "ann", "a1")  # the room is known from here on
    again = await send(database, "ann", "a1")
    assert (again.message_id, again.seq, again.event) == (first.message_id, 1, None)
    reply = await send(database, "ann", "a2", reply_to=first.message_id)
    assert reply.seq == 2 and reply.event is not None
    assert reply.event.reply_to == first.message_id
    with pytest.raises(NotFound):
        await send(database, "ann", "a3", reply_to=999_999)
    await sanction(database, Mute, "bob", "theme-one")
    with pytest.raises(Muted):
        await send(database, "bob", "b1")
    await sanction(database, Ban, "amy", "theme-one")
    with pytest.raises(Forbidden):
        await send(database, "amy", "c1")
    # A repeat of a message stored before the ban still gets its ack.
    assert (await send(database, "ann", "a2")).seq == 2
    assert (await send(database, "rita", "r1")).seq == 3
    assert await room_rows(database, "theme-one") == ([1, 2, 3], [1, 2, 3], 3)


async def test_a_room_changed_since_it_was_read(database: Database) -> None:
    """Locked and slow mode set by someone else after this process learnt the room."""
    await send(database, "ann", "a1")
    async with database.write() as s:
        await s.execute(update(Room).where(Room.slug == "theme-one").values(locked=True))
    with pytest.raises(RoomLocked):
        await send(database, "ann", "a2")
    assert (await send(database, "mo", "m1")).seq == 2  # a moderator may post when locked
    async with database.write() as s:
        await s.execute(
            update(Room).where(Room.slug == "theme-one").values(locked=False, slow_mode_seconds=60)
        )
    assert (await send(database, "rita", "r1")).seq == 3  # her first post
    with pytest.raises(RateLimited):
        await send(database, "rita", "r2")
    with pytest.raises(RateLimited):
        await send(database, "ann", "a3")  # posted a minute ago
    assert await room_rows(database, "theme-one") == ([1, 2, 3], [1, 2, 3], 3)


async def test_a_writer_committing_while_the_send_waits(database: Database) -> None:
    """Another transaction holds the room (it took a seq); the send waits, then follows it."""
    await send(database, "ann", "a1")
    async with database.read() as s:
        room_id = (await s.execute(select(Room.id).where(Room.slug == "theme-one"))).scalar_one()
        rita = (await s.execute(select(User.id).where(User.username == "rita"))).scalar_one()
    other = Database(database.url)
    try:
        async with other.write() as s:
            await append_event(s, room_id, "room_topic", actor_id=rita, data={"topic": "Nieuw"})
            waiting = asyncio.create_task(send(database, "ann", "a2"))
            await asyncio.sleep(0.3)
            assert not waiting.done()
        acked = await asyncio.wait_for(waiting, 30)
    finally:
        await other.dispose()
    assert acked.seq == 3
    assert await room_rows(database, "theme-one") == ([1, 2, 3], [1, 3], 3)


@POSTGRES_ONLY
async def test_a_dropped_connection_is_replaced(database: Database) -> None:
    """The database closed the send path's kept connection: the send is retried once."""
    await send(database, "ann", "a1")
    async with database.held(lone=True) as conn:  # a lone send's connection
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        pid = driver.get_server_pid()
    async with database.write() as s:
        await s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert (await send(database, "ann", "a2")).seq == 2
    assert await room_rows(database, "theme-one") == ([1, 2], [1, 2], 2)


@pytest.mark.slow
async def test_single_sends_of_several_processes_keep_seqs_gap_free(
    db_url: str, database: Database
) -> None:
    """Three processes each send one message at a time (the short path) into one room."""
    users, per = ["ann", "amy", "rita"], 60
    await run_writers(db_url, "theme-one", users, per, "serial")
    events, messages, last = await room_rows(database, "theme-one")
    assert events == messages == list(range(1, last + 1))
    assert last == len(users) * (per - per // 10)


@SQLITE_ONLY
async def test_every_sqlite_writer_syncs_each_commit(database: Database) -> None:
    """`synchronous=FULL` on every connection that writes: an acked send survives a power
    loss (with NORMAL, WAL mode syncs only at checkpoints)."""
    async with database.write() as s:
        assert (await s.execute(text("PRAGMA synchronous"))).one() == (2,)
    threaded = await database.run_in_writer(
        lambda driver: driver.execute("PRAGMA synchronous").fetchone()
    )
    assert threaded == (2,)


@SQLITE_ONLY
async def test_sqlite_sends_never_commit_on_the_event_loop(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit waits for the disk (`synchronous=FULL`), which now and then stalls for
    hundreds of milliseconds: lone sends and batches alike commit in the writer thread."""
    threads: list[int] = []
    real = store.store_sqlite

    def stored(*args: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(store, "store_sqlite", stored)
    await asyncio.sleep(0.1)  # a lone send after a quiet spell, as in W3
    await send(database, "ann", "t1")
    reqs = [await request(database, "ann", "theme-one", f"t{i}") for i in range(2, 6)]
    await store.post_many(database, reqs)
    assert len(threads) == 2 and threading.get_ident() not in threads

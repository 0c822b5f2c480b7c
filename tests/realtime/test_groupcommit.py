"""Group commit: sends stored together, each refused or accepted on its own."""

from __future__ import annotations

import asyncio

from chat import store
from chat.frames import Author
from chat.groupcommit import GroupCommit
from chat.store import Acked, SendRequest
from persistence.accounts import actor_for, user_by_name
from persistence.db import Database
from rooms.errors import Forbidden
from web.wire import author_wire


async def request(db: Database, username: str, room: str, client_id: str) -> SendRequest:
    async with db.read() as session:
        user = await user_by_name(session, username)
        assert user is not None
        actor = await actor_for(session, user)
        return SendRequest(
            actor, Author(**author_wire(user)), room, f"bericht {client_id}", client_id, None
        )


async def test_a_batch_stores_each_send_in_its_own_savepoint(database: Database) -> None:
    """Refusals and duplicates in a batch leave no seq behind; the others are contiguous."""
    first = await store.post(database, await request(database, "ann", "theme-one", "a"))
    batch = [
        await request(database, "ann", "theme-one", "b"),
        await request(database, "ann", "theme-one", "a"),  # duplicate of the first
        await request(database, "ann", "area-b", "c"),  # ann may not read area-b
        await request(database, "bob", "theme-one", "d"),
    ]
    results = await store.post_many(database, batch)
    assert isinstance(results[0], Acked) and results[0].seq == first.seq + 1
    assert isinstance(results[1], Acked) and results[1].seq == first.seq
    assert results[1].event is None
    assert isinstance(results[2], Forbidden)
    assert isinstance(results[3], Acked) and results[3].seq == first.seq + 2
    assert results[3].event is not None and results[3].event.author.username == "bob"


async def test_concurrent_sends_share_transactions(database: Database) -> None:
    """Sends arriving together are committed in fewer transactions, all with their own seq."""
    commit = GroupCommit(database)
    reqs = [await request(database, "ann", "theme-two", f"n{i}") for i in range(30)]
    acks = await asyncio.wait_for(asyncio.gather(*(commit.post(r) for r in reqs)), 30)
    assert sorted(a.seq for a in acks) == list(range(1, 31))
    assert commit.batches < 30 and commit.largest > 1
    await commit.close()


async def test_concurrent_batches_over_shared_rooms_never_deadlock(database: Database) -> None:
    """Two group commits (as two processes) sending to the same rooms at once: all acked.

    Batches that lock the rows of two rooms in opposite orders deadlocked on PostgreSQL;
    every batch now takes its room locks in slug order.
    """
    commits = [GroupCommit(database), GroupCommit(database)]
    rooms = ["theme-one", "theme-two"]
    reqs = [
        (commits[i % 2], await request(database, "ann", rooms[(i // 2) % 2 ^ i % 2], f"k{i}"))
        for i in range(120)
    ]
    async with asyncio.timeout(60):
        results = await asyncio.gather(*(gc.post(r) for gc, r in reqs), return_exceptions=True)
    assert [r for r in results if not isinstance(r, Acked)] == []
    for room in rooms:
        seqs = sorted(
            r.seq
            for (_, q), r in zip(reqs, results, strict=True)
            if q.slug == room and isinstance(r, Acked)
        )
        assert seqs == list(range(1, len(seqs) + 1))


async def test_batches_in_flight_hold_disjoint_rooms_and_keep_arrival_order(
    database: Database,
) -> None:
    """Several batches at once (as on PostgreSQL) never share a room; per room, seqs follow
    the order in which the sends arrived."""
    commit = GroupCommit(database)
    commit.max_inflight = 4
    rooms = ["theme-one", "theme-two", "area-a"]
    reqs = [await request(database, "rita", rooms[i % 3], f"o{i}") for i in range(150)]
    held: list[set[str]] = []
    original = commit._commit

    async def watched(batch: list[tuple[SendRequest, asyncio.Future[Acked]]]) -> None:
        mine = {req.slug for req, _ in batch}
        assert all(not (mine & other) for other in held)
        held.append(mine)
        try:
            await original(batch)
        finally:
            held.remove(mine)

    commit._commit = watched  # type: ignore[method-assign]
    async with asyncio.timeout(60):
        acks = await asyncio.gather(*(commit.post(r) for r in reqs))
    for room in rooms:
        seqs = [a.seq for r, a in zip(reqs, acks, strict=True) if r.slug == room]
        assert seqs == list(range(1, 51))
    assert commit.claimed == set() and commit.pending == []
    await commit.close()

"""Per-room seqs: 1, 2, 3, … with no gap and no reuse, also with writers in several processes."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from persistence.db import Database
from persistence.models import Event, Message, Room, User
from tests.persistence import send_writer
from tests.persistence.posting import post

WRITERS = 4
PER_WRITER = 40


async def ids(db: Database, slug: str, username: str) -> tuple[int, int]:
    async with db.read() as s:
        room = (await s.execute(select(Room.id).where(Room.slug == slug))).scalar_one()
        user = (await s.execute(select(User.id).where(User.username == username))).scalar_one()
    return room, user


async def seqs_of(db: Database, room_id: int) -> tuple[list[int], int]:
    async with db.read() as s:
        seqs = list(
            (
                await s.execute(
                    select(Event.seq).where(Event.room_id == room_id).order_by(Event.seq)
                )
            ).scalars()
        )
        last = (await s.execute(select(Room.last_seq).where(Room.id == room_id))).scalar_one()
    return seqs, last


@pytest.mark.slow
async def test_concurrent_writer_processes_get_contiguous_seqs(
    db_url: str, database: Database
) -> None:
    """Four OS processes writing one room at once leave seqs 1..N, each used once."""
    users = ["ann", "amy", "rita", "mo"]
    await send_writer.run_all(
        [
            [db_url, "theme-one", users[i], str(PER_WRITER), f"w{i}", "serial"]
            for i in range(WRITERS)
        ],
        timeout=90,
    )
    room_id, _ = await ids(database, "theme-one", "ann")
    seqs, last = await seqs_of(database, room_id)
    total = WRITERS * (PER_WRITER - PER_WRITER // 10)  # every tenth send is a repeat
    assert seqs == list(range(1, total + 1))
    assert last == total
    async with database.read() as s:
        messages = (
            (await s.execute(select(Message.seq).where(Message.room_id == room_id))).scalars().all()
        )
    assert sorted(messages) == seqs


async def test_concurrent_tasks_in_one_process(database: Database) -> None:
    """Many concurrent transactions in one process also leave no gap."""
    room_id, _ = await ids(database, "theme-two", "amy")

    async def one(i: int) -> None:
        await post(database, "theme-two", "amy", f"bericht {i}", f"c-{i}")

    async with asyncio.timeout(60):
        await asyncio.gather(*(one(i) for i in range(30)))
    seqs, last = await seqs_of(database, room_id)
    assert seqs == list(range(1, 31)) and last == 30


async def test_duplicate_client_id_rolls_back_its_seq(database: Database) -> None:
    """A resend with a used client_id creates nothing and leaves no gap behind."""
    first = await post(database, "theme-one", "ann", "hallo", "same")
    again = await post(database, "theme-one", "ann", "hallo nog eens", "same")
    assert (again.message_id, again.seq, again.new) == (first.message_id, 1, False)
    nxt = await post(database, "theme-one", "ann", "volgende", "other")
    assert (first.seq, nxt.seq) == (1, 2)


async def test_same_client_id_by_another_author_is_a_new_message(database: Database) -> None:
    """The idempotency key is (author, room, client_id): two authors may use the same id."""
    a = await post(database, "theme-one", "ann", "a", "k1")
    b = await post(database, "theme-one", "amy", "b", "k1")
    assert a.message_id != b.message_id and b.new

"""A subscribe's backlog reuses a range read in the last second, and never serves a stale one:
every room event moves the range's end, and access is checked for every request."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from chat import reads
from persistence import accounts, handshake
from persistence.db import Database
from persistence.events import edit_message
from persistence.models import Ban, Message, Room
from rooms.errors import Forbidden
from rooms.model import Actor
from tests.helpers import POSTGRES_ONLY
from tests.persistence.posting import post

ROOM = "theme-one"


async def _actor(db: Database, name: str) -> Actor:
    async with db.read() as s:
        user = await accounts.user_by_name(s, name)
        assert user is not None
        return await accounts.actor_for(s, user)


async def _post(db: Database, author: str, body: str, cid: str) -> Message:
    stored = await post(db, ROOM, author, body, cid)
    async with db.read() as s:
        return await s.get_one(Message, stored.message_id)


def _bodies(got: reads.Backlog) -> list[Any]:
    return [orjson.loads(f).get("body") for f in got.frames]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the events were read from the database."""
    calls: list[int] = []
    real = reads.read_events

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(reads, "read_events", counting)
    return calls


async def test_the_same_range_is_read_once(database: Database, counted: list[int]) -> None:
    for i in range(5):
        await _post(database, "amy", f"bericht {i}", f"c{i}")
    ann, bob = await _actor(database, "ann"), await _actor(database, "bob")
    first = await reads.backlog(database, ann, ROOM, 0, 1000)
    again = await reads.backlog(database, bob, ROOM, 0, 1000)
    assert again == first and _bodies(first) == [f"bericht {i}" for i in range(5)]
    assert len(counted) == 1
    other = await reads.backlog(database, ann, ROOM, 2, 1000)  # another range: read
    assert _bodies(other) == ["bericht 2", "bericht 3", "bericht 4"]
    assert len(counted) == 2


async def test_an_edit_is_never_served_stale(database: Database, counted: list[int]) -> None:
    message = await _post(database, "amy", "eerst", "c1")
    ann = await _actor(database, "ann")
    assert _bodies(await reads.backlog(database, ann, ROOM, 0, 1000)) == ["eerst"]
    async with database.write() as s:
        stored = await s.get(Message, message.id)
        assert stored is not None
        await edit_message(s, stored, "daarna", stored.author_id)
    got = await reads.backlog(database, ann, ROOM, 0, 1000)
    assert _bodies(got) == ["daarna", "daarna"]  # the message as it is now, and the edit
    assert len(counted) == 2


async def test_access_is_checked_for_every_request(database: Database) -> None:
    await _post(database, "amy", "hallo", "c1")
    ann, bob = await _actor(database, "ann"), await _actor(database, "bob")
    await reads.backlog(database, ann, ROOM, 0, 1000)
    async with database.write() as s:
        room = (await s.execute(select(Room).where(Room.slug == ROOM))).scalar_one()
        s.add(Ban(room_id=room.id, user_id=bob.user_id, until=None))
    with pytest.raises(Forbidden):
        await reads.backlog(database, bob, ROOM, 0, 1000)


async def test_a_range_older_than_a_second_is_read_again(
    database: Database, counted: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    await _post(database, "amy", "hallo", "c1")
    ann = await _actor(database, "ann")
    await reads.backlog(database, ann, ROOM, 0, 1000)
    monkeypatch.setattr(reads.RecentBacklogs, "TTL", 0.0)
    await reads.backlog(database, ann, ROOM, 0, 1000)
    assert len(counted) == 2


@POSTGRES_ONLY
async def test_subscribers_at_once_share_one_access_read(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backlogs asked for at once read the room's access once (PostgreSQL), and each
    subscriber is still judged by their own ban; one asked later reads it again."""
    await _post(database, "amy", "hallo", "c1")
    names = ("ann", "amy", "mo", "ada", "bob")
    actors = {name: await _actor(database, name) for name in names}
    async with database.write() as s:
        room = (await s.execute(select(Room).where(Room.slug == ROOM))).scalar_one()
        s.add(Ban(room_id=room.id, user_id=actors["bob"].user_id, until=None))
    calls: list[list[int]] = []
    real = handshake.read_room_access_of

    def counting(conn: Any, slug: str, user_ids: list[int]) -> Any:
        calls.append(list(user_ids))
        return real(conn, slug, user_ids)

    monkeypatch.setattr(handshake, "read_room_access_of", counting)
    got = await asyncio.gather(
        *(reads.backlog(database, actors[n], ROOM, 0, 1000) for n in names),
        return_exceptions=True,
    )
    assert len(calls) == 1 and len(calls[0]) == len(names)
    for name, answer in zip(names, got, strict=True):
        if name == "bob":
            assert isinstance(answer, Forbidden)
        else:
            assert isinstance(answer, reads.Backlog) and _bodies(answer) == ["hallo"]
    await reads.backlog(database, actors["ann"], ROOM, 0, 1000)
    assert len(calls) == 2

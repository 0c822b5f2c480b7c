"""A herd of joins: presence reads shared, one notice to the other processes per room and
debounce, and Redis commands past the pool's connections waiting for one, not failing."""

from __future__ import annotations

import asyncio
import json

import pytest

from chat.broker.memory import MemoryBroker
from chat.broker.redis import POOL_MAX, RedisBroker
from chat.config import ChatConfig
from chat.hub import Subscription
from chat.outbound import Outbound
from chat.presence import RedisPresence
from chat.realtime import (
    PRESENCE,
    PRESENCE_DEBOUNCE,
    PRESENCE_NAMES_PER_S,
    PRESENCE_UNSPACED_NAMES,
    Realtime,
    open_envelope,
)
from persistence.db import Database
from tests.clock import FakeClock
from tests.sockets import NullSocket

ROOM = "theme-one"


class RecordingBroker(MemoryBroker):
    """The in-process broker, keeping what was published."""

    shared = True  # as Redis is: the Realtime publishes, and this keeps it

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, channel: str, data: bytes) -> None:
        self.published.append((channel, data))
        await super().publish(channel, data)


class Joiner:
    """As much of a connection as `Realtime.joined` uses."""

    def __init__(self, username: str) -> None:
        self.username = username
        self.user_id = 1
        self.outbound = Outbound(NullSocket())

    def presence_lists(self) -> list[list[str]]:
        return [json.loads(f)["online"] for f in self.outbound.frames if '"type":"presence"' in f]


def chat_config() -> ChatConfig:
    return ChatConfig(
        redis_url=None,
        redis_prefix="wp",
        send_burst=10,
        send_rate=1.0,
        frame_burst=10,
        frame_rate=1.0,
        backlog_cap=100,
        ws_queue_frames=100,
        presence_ttl_seconds=30.0,
    )


def subscription(joiner: Joiner) -> Subscription:
    return Subscription(joiner, ROOM)  # type: ignore[arg-type]


async def test_joiners_at_once_share_a_read_and_each_sees_itself(database: Database) -> None:
    """Many joins at once: each joiner's list has every joiner counted before it asked,
    itself too, from fewer reads than joiners."""
    rt = Realtime(chat_config(), database, broker=RecordingBroker(), clock=FakeClock())
    reads = 0
    online = rt.presence.online

    async def counted(room: str) -> list[str]:
        nonlocal reads
        reads += 1
        return await online(room)

    rt.presence.online = counted  # type: ignore[method-assign]
    joiners = [Joiner(f"user{i:02d}") for i in range(20)]
    await asyncio.gather(*(rt.joined(subscription(j)) for j in joiners))
    for j in joiners:
        [seen] = j.presence_lists()
        assert j.username in seen
        assert seen == sorted(seen)
    assert reads < len(joiners)


async def test_a_joiner_during_a_read_waits_for_one_that_counts_it(database: Database) -> None:
    """A read under way may have begun before a new joiner was counted: that joiner gets
    the next read, which has it."""
    rt = Realtime(chat_config(), database, broker=RecordingBroker(), clock=FakeClock())
    online = rt.presence.online
    first_read = asyncio.Event()
    release = asyncio.Event()

    async def held(room: str) -> list[str]:
        names = await online(room)
        if not first_read.is_set():
            first_read.set()
            await release.wait()
        return names

    rt.presence.online = held  # type: ignore[method-assign]
    ann, bob = Joiner("ann"), Joiner("bob")
    ann_joined = asyncio.create_task(rt.joined(subscription(ann)))
    await first_read.wait()
    bob_joined = asyncio.create_task(rt.joined(subscription(bob)))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(ann_joined, bob_joined)
    assert ann.presence_lists() == [["ann"]]
    assert bob.presence_lists() == [["ann", "bob"]]


async def test_joiners_reads_of_a_long_list_are_spaced(database: Database) -> None:
    """In a room of many online, the next joiners' read waits until the last one's names
    fit the names budget; then it counts them too."""
    clock = FakeClock()
    rt = Realtime(chat_config(), database, broker=RecordingBroker(), clock=clock)
    crowd = [f"crowd{i:04d}" for i in range(4 * PRESENCE_UNSPACED_NAMES)]
    for name in crowd:
        await rt.presence.join(ROOM, name)
    first, late = Joiner("ann"), Joiner("bob")
    await rt.joined(subscription(first))
    assert [len(seen) for seen in first.presence_lists()] == [len(crowd) + 1]
    late_joined = asyncio.create_task(rt.joined(subscription(late)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert late.presence_lists() == []
    await clock.advance((len(crowd) + 1) / PRESENCE_NAMES_PER_S)
    await asyncio.wait_for(late_joined, 5)
    assert late.presence_lists() == [sorted([*crowd, "ann", "bob"])]


async def test_a_join_storm_tells_the_other_processes_once(database: Database) -> None:
    """The joins of a room within the debounce go out as one presence notice."""
    clock = FakeClock()
    broker = RecordingBroker()
    rt = Realtime(chat_config(), database, broker=broker, clock=clock)
    await asyncio.gather(*(rt.joined(subscription(Joiner(f"u{i}"))) for i in range(30)))

    def notices() -> int:
        return sum(1 for _, data in broker.published if open_envelope(data)[0] == PRESENCE)

    assert notices() == 0
    await clock.advance(PRESENCE_DEBOUNCE)
    assert notices() == 1
    await rt.joined(subscription(Joiner("late")))
    await clock.advance(PRESENCE_DEBOUNCE)
    assert notices() == 2


@pytest.mark.redis
async def test_redis_commands_past_the_pool_wait_for_a_connection(
    redis_url: str, redis_prefix: str
) -> None:
    """More publishes and presence writes at once than the pool has connections: all done
    (redis-py's default pool failed them with MaxConnectionsError)."""
    broker = RedisBroker(redis_url)
    try:
        many = 3 * POOL_MAX
        await asyncio.gather(
            *(broker.publish(f"{redis_prefix}:room:{ROOM}", b"x") for _ in range(many))
        )
        presence = RedisPresence(broker.redis, redis_prefix, "p1")
        names = [f"user{i:03d}" for i in range(many)]
        await asyncio.gather(*(presence.join(ROOM, n) for n in names))
        # Read as another process, which knows only what Redis holds.
        assert await RedisPresence(broker.redis, redis_prefix, "p2").online(ROOM) == names
        await broker.redis.delete(f"{redis_prefix}:presence:{ROOM}")
    finally:
        await broker.close()


@pytest.mark.redis
async def test_a_join_storm_writes_each_rooms_entries_together(
    redis_url: str, redis_prefix: str
) -> None:
    """Joins of one turn of the loop are one write to Redis; a leave before that write
    leaves no entry behind; another process sees every joiner."""
    broker = RedisBroker(redis_url)
    try:
        presence = RedisPresence(broker.redis, redis_prefix, "p1")
        writes: list[list[str]] = []
        add = presence._add

        async def counted(room: str, usernames: list[str]) -> None:
            writes.append(list(usernames))
            await add(room, usernames)

        presence._add = counted  # type: ignore[method-assign]
        names = [f"user{i:03d}" for i in range(50)]
        await asyncio.gather(*(presence.join(ROOM, n) for n in names))
        assert writes == [names]
        joined = asyncio.create_task(presence.join(ROOM, "gone"))
        await asyncio.sleep(0)  # counted and waiting for the write
        await presence.leave(ROOM, "gone")
        await joined
        other = RedisPresence(broker.redis, redis_prefix, "p2")
        assert await other.online(ROOM) == names
        await broker.redis.delete(f"{redis_prefix}:presence:{ROOM}")
    finally:
        await broker.close()

"""Delivery guarantees on one server: resume, truncation, the subscribe race, access."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from chat.client import ClientError
from chat.realtime import POLL_DOWN, SESSION_SWEEP
from persistence.accounts import revoke_user_sessions, user_by_name
from persistence.db import Database
from persistence.events import post_message
from persistence.models import Room, User
from tests.clients import OpenClient
from tests.clock import FakeClock
from tests.helpers import bearer, make_settings, running_server
from tests.realtime.conftest import RedisServer
from web.settings import Settings

ROOM = "theme-one"


async def test_reconnect_with_since_catches_up_exactly(
    server: str, open_client: OpenClient
) -> None:
    """A client that loses its connection resumes from its last seq: nothing missed or doubled."""
    ann = await open_client(server, "ann")
    amy = await open_client(server, "amy")
    await ann.subscribe(ROOM, since=0)
    first = [await amy.send(ROOM, f"voor {i}") for i in range(3)]
    await ann.wait_seq(ROOM, first[-1]["seq"])
    await ann.drop()
    later = [await amy.send(ROOM, f"tijdens {i}") for i in range(10)]
    await ann.connected()
    await ann.wait_seq(ROOM, later[-1]["seq"])
    assert [e["seq"] for e in ann.events[ROOM]] == list(range(1, later[-1]["seq"] + 1))
    assert not ann.duplicates and not ann.gaps and ann.connects == 2


async def test_backlog_over_the_cap_is_truncated_and_backfilled(
    database: Database, db_url: str, open_client: OpenClient
) -> None:
    """More than the cap missing: the newest cap only, `truncated` and `first_seq`."""
    async with database.write() as session:
        room = (await session.execute(Room.__table__.select().where(Room.slug == ROOM))).one()
        ann = (await session.execute(User.__table__.select().where(User.username == "ann"))).one()
        for i in range(510):
            await post_message(session, room.id, ann.id, f"oud {i}", f"old-{i}")
    async with running_server(make_settings(db_url, backlog_cap=500)) as base:
        amy = await open_client(base, "amy")
        sub = await amy.subscribe(ROOM, since=3)
        assert sub["truncated"] is True and sub["first_seq"] == 11 and sub["last_seq"] == 510
        async with asyncio.timeout(20):
            while len(amy.events[ROOM]) < 507:
                await asyncio.sleep(0.05)
        assert [e["seq"] for e in amy.events[ROOM]] == list(range(4, 511))
        assert not amy.gaps and not amy.duplicates
        fresh = await open_client(base, "bob")
        assert (await fresh.subscribe(ROOM, since=10))["truncated"] is False


async def test_subscribing_during_a_stream_sees_every_later_event_once(
    server: str, open_client: OpenClient
) -> None:
    """Subscriptions racing concurrent sends: each sees its backlog then every event, once."""
    senders = [await open_client(server, u) for u in ("ann", "amy")]
    watchers = [await open_client(server, u) for u in ("mo", "ada", "bob", "rita")]

    joined = 0

    async def stream(i: int) -> list[dict[str, object]]:
        # The last 5 of each sender's 25 wait for every watcher to have joined: each
        # subscription meets a live stream however fast the sends are stored.
        acks = []
        for n in range(25):
            while n >= 20 and joined < len(watchers):
                await asyncio.sleep(0.01)
            acks.append(await senders[i].send(ROOM, f"s{i}-{n}"))
        return acks

    async def join_late(k: int) -> None:
        nonlocal joined
        await asyncio.sleep(0.02 * k)
        await watchers[k].subscribe(ROOM, since=0 if k % 2 else None)
        joined += 1

    results = await asyncio.gather(stream(0), stream(1), *(join_late(k) for k in range(4)))
    last = max(int(a["seq"]) for acks in results[:2] for a in acks)  # type: ignore[union-attr, call-overload]
    for k, watcher in enumerate(watchers):
        await watcher.wait_seq(ROOM, last)
        seqs = [e["seq"] for e in watcher.events[ROOM]]
        start = 1 if k % 2 else seqs[0]
        assert seqs == list(range(start, last + 1)), k
        assert not watcher.duplicates and not watcher.gaps


async def test_logout_closes_that_sessions_sockets_with_1008(
    server: str, open_client: OpenClient
) -> None:
    """DELETE /api/session closes the sockets of that session only."""
    ann = await open_client(server, "ann", reconnect=False)
    other = await open_client(server, "ann", reconnect=False)
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.delete(f"{server}/api/session", headers=bearer(ann.token))
        assert r.status_code == 204
    async with asyncio.timeout(10):
        while not ann.close_codes:
            await asyncio.sleep(0.02)
    assert ann.close_codes == [1008]
    assert (await other.ping())["type"] == "pong"


async def test_read_marker_is_stored_and_pushed_to_the_users_other_connections(
    server: str, open_client: OpenClient
) -> None:
    """`read` moves the stored marker and reaches the user's other connections."""
    amy = await open_client(server, "amy")
    acks = [await amy.send(ROOM, f"lees {i}") for i in range(3)]
    tab1 = await open_client(server, "ann")
    tab2 = await open_client(server, "ann")
    await tab1.read(ROOM, acks[1]["seq"])
    pushed = await tab2.wait_for(lambda f: f.get("type") == "read")
    assert pushed == {"type": "read", "room": ROOM, "seq": acks[1]["seq"]}
    async with httpx.AsyncClient(timeout=10) as http:
        rooms = (await http.get(f"{server}/api/rooms", headers=bearer(tab1.token))).json()["rooms"]
    mine = next(r for r in rooms if r["slug"] == ROOM)
    assert mine["read_seq"] == acks[1]["seq"] and mine["unread"] == 1


async def test_presence_and_typing_reach_only_the_rooms_subscribers(
    server: str, open_client: OpenClient
) -> None:
    """Presence lists who is subscribed; typing goes to the other subscribers only."""
    ann = await open_client(server, "ann")
    amy = await open_client(server, "amy")
    bob = await open_client(server, "bob")
    await ann.subscribe("area-a", since=None)
    await amy.subscribe("area-a", since=None)
    await ann.wait_for(lambda f: f.get("type") == "presence" and f.get("online") == ["amy", "ann"])
    await amy.typing("area-a")
    typing = await ann.wait_for(lambda f: f.get("type") == "typing")
    assert typing["room"] == "area-a" and typing["user"]["username"] == "amy"
    with pytest.raises(ClientError) as refused:
        await bob.request({"type": "typing", "room": "area-a"})
    assert refused.value.code == "forbidden"
    await bob.ping()
    assert not [f for f in bob.frames if f.get("room") == "area-a"]
    await amy.close()
    await ann.next_frame(lambda f: f.get("type") == "presence" and f.get("online") == ["ann"])


async def test_a_session_ended_behind_the_servers_back_is_closed(
    settings: Settings, database: Database, open_client: OpenClient
) -> None:
    """A session revoked without a notice (lost broker message, expiry) is closed by the sweep."""
    clock = FakeClock()
    async with running_server(settings, clock=clock) as server:
        ann = await open_client(server, "ann", reconnect=False)
        async with database.write() as session:
            await revoke_user_sessions(session, (await user_by_name(session, "ann")).id)  # type: ignore[union-attr]
        await clock.advance(SESSION_SWEEP)
        await clock.advance_until(lambda: bool(ann.close_codes), POLL_DOWN)
    assert ann.close_codes == [1008]


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_one_process_keeps_delivering_while_redis_is_down(
    backend: str, db_url: str, own_redis: RedisServer, open_client: OpenClient
) -> None:
    """With Redis gone, a process still delivers its own events; /readyz says 503 meanwhile."""
    settings = make_settings(db_url, redis_url=own_redis.url, redis_prefix="down-test")
    async with running_server(settings) as base:
        ann = await open_client(base, "ann")
        amy = await open_client(base, "amy")
        await amy.subscribe(ROOM, since=None)
        await asyncio.to_thread(own_redis.kill)
        acks = [await ann.send(ROOM, f"zonder redis {i}") for i in range(3)]
        await amy.wait_seq(ROOM, acks[-1]["seq"], timeout=5)
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{base}/readyz")).status_code == 503
            await asyncio.to_thread(own_redis.start)
            async with asyncio.timeout(15):
                while (await http.get(f"{base}/readyz")).status_code != 200:
                    await asyncio.sleep(0.1)
        later = await ann.send(ROOM, "met redis")
        await amy.wait_seq(ROOM, later["seq"], timeout=5)
        assert not amy.gaps and not amy.duplicates

"""Several `werkplaats serve` processes sharing a database and Redis behave as one server."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest

from chat.client import Client, ClientError
from tests.clients import OpenClient
from tests.helpers import ServerProcess, bearer
from tests.realtime.conftest import RedisServer, StartServers

pytestmark = [pytest.mark.slow, pytest.mark.redis]
ROOM = "theme-one"


def assert_in_order_once(client: Client, room: str, first: int, last: int) -> None:
    seqs = [e["seq"] for e in client.events.get(room, [])]
    assert seqs == list(range(first, last + 1))
    assert not client.duplicates and not client.gaps


async def burst(client: Client, count: int, pause: float = 0.0) -> list[dict[str, object]]:
    acks = []
    for i in range(count):
        acks.append(await client.send(ROOM, f"bericht {i}", timeout=60))
        if pause:
            await asyncio.sleep(pause)
    return acks


async def test_concurrent_senders_on_two_processes_are_seen_in_order_once(
    start_servers: StartServers, open_client: OpenClient
) -> None:
    """Senders on both processes: every observer sees contiguous seqs, in order, each once."""
    a, b = await start_servers(2)
    observers = [await open_client(a.url, "mo"), await open_client(b.url, "ada")]
    for observer in observers:
        await observer.subscribe(ROOM, since=0)
    senders = [
        await open_client(server.url, user)
        for server, user in ((a, "ann"), (a, "amy"), (b, "bob"), (b, "rita"))
    ]
    acks = [ack for acks in await asyncio.gather(*(burst(s, 15) for s in senders)) for ack in acks]
    last = max(int(ack["seq"]) for ack in acks)  # type: ignore[call-overload]
    assert sorted(int(ack["seq"]) for ack in acks) == list(range(1, last + 1))  # type: ignore[call-overload]
    for observer in observers:
        await observer.wait_seq(ROOM, last, timeout=30)
        assert_in_order_once(observer, ROOM, 1, last)
        assert {e["message_id"] for e in observer.events[ROOM]} == {a["message_id"] for a in acks}


@pytest.mark.soak  # a long form: make soak-tests
@pytest.mark.parametrize("backend", ["postgres"])
async def test_redis_restarted_mid_stream_leaves_no_gap(
    backend: str,
    own_redis: RedisServer,
    start_servers: StartServers,
    open_client: OpenClient,
) -> None:
    """Redis killed and started again while both processes send: observers miss nothing."""
    a, b = await start_servers(2, WERKPLAATS_REDIS_URL=own_redis.url)
    observers = [await open_client(a.url, "mo"), await open_client(b.url, "ada")]
    for observer in observers:
        await observer.subscribe(ROOM, since=0)
    senders = [await open_client(a.url, "ann"), await open_client(b.url, "bob")]

    async def outage() -> None:
        await asyncio.sleep(0.7)
        await asyncio.to_thread(own_redis.kill)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(own_redis.start)

    results = await asyncio.gather(outage(), *(burst(s, 40, pause=0.05) for s in senders))
    acks = [ack for acks in results[1:] for ack in acks]
    last = max(int(ack["seq"]) for ack in acks)  # type: ignore[call-overload]
    assert last == len(acks)
    for observer in observers:
        await observer.wait_seq(ROOM, last, timeout=30)
        assert_in_order_once(observer, ROOM, 1, last)
    async with httpx.AsyncClient(timeout=10) as http:
        for server in (a, b):
            assert (await http.get(f"{server.url}/readyz")).status_code == 200
    assert "lost Redis" in a.log.read_text()  # the outage really happened


@pytest.mark.soak  # a long form: make soak-tests
@pytest.mark.parametrize("backend", ["postgres"])
async def test_kill_9_of_one_process_loses_no_acked_message(
    backend: str, start_servers: StartServers, open_client: OpenClient
) -> None:
    """After kill -9: every acked message is there, its clients catch up, its users go offline."""
    a, b = await start_servers(2, WERKPLAATS_PRESENCE_TTL_SECONDS="3")
    watcher_a = await open_client(a.url, "mo", reconnect=False)
    watcher_b = await open_client(b.url, "ada")
    await watcher_a.subscribe(ROOM, since=0)
    await watcher_b.subscribe(ROOM, since=0)
    sender = await open_client(a.url, "ann", reconnect=False)
    acks = await burst(sender, 15)
    await watcher_a.wait_seq(ROOM, 5)
    assert a.proc is not None
    os.kill(a.proc.pid, signal.SIGKILL)
    a.proc.wait(timeout=10)
    seen = watcher_a.last_seq[ROOM]
    others = await burst(await open_client(b.url, "bob"), 5)
    moved = await open_client(b.url, "mo")
    await moved.subscribe(ROOM, since=seen)
    last = int(others[-1]["seq"])  # type: ignore[call-overload]
    await moved.wait_seq(ROOM, last)
    assert_in_order_once(moved, ROOM, seen + 1, last)
    await watcher_b.wait_seq(ROOM, last)
    assert_in_order_once(watcher_b, ROOM, 1, last)
    async with httpx.AsyncClient(timeout=10) as http:
        page = (
            await http.get(f"{b.url}/api/rooms/{ROOM}/events?after=0", headers=bearer(moved.token))
        ).json()
    stored = {e["message_id"] for e in page["events"]}
    assert {ack["message_id"] for ack in acks} <= stored
    # The dead process's presence entries expire: "mo" is online only through `moved` now.
    offline = asyncio.ensure_future(
        watcher_b.next_frame(
            lambda f: f.get("type") == "presence" and "mo" not in f["online"], timeout=15
        )
    )
    await moved.close()
    assert "mo" not in (await offline)["online"]


@pytest.mark.soak  # a long form: make soak-tests
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sigterm_closes_sockets_with_1012_and_loses_nothing(
    backend: str, start_servers: StartServers, open_client: OpenClient
) -> None:
    """SIGTERM: clients are closed with 1001/1012; a client moving over catches up exactly."""
    a, b = await start_servers(2)
    watcher = await open_client(a.url, "mo", reconnect=False)
    await watcher.subscribe(ROOM, since=0)
    sender = await open_client(b.url, "bob")
    acks = await burst(sender, 5)
    await watcher.wait_seq(ROOM, int(acks[-1]["seq"]))  # type: ignore[call-overload]
    await asyncio.to_thread(a.stop, signal.SIGTERM)
    async with asyncio.timeout(10):
        while not watcher.close_codes:
            await asyncio.sleep(0.05)
    assert watcher.close_codes[0] in (1001, 1012)
    more = await burst(sender, 3)
    moved = await open_client(b.url, "mo")
    await moved.subscribe(ROOM, since=watcher.last_seq[ROOM])
    await moved.wait_seq(ROOM, int(more[-1]["seq"]))  # type: ignore[call-overload]
    assert [e["seq"] for e in moved.events[ROOM]] == [m["seq"] for m in more]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_ban_removes_the_room_on_every_process_at_once(
    backend: str, start_servers: StartServers, open_client: OpenClient
) -> None:
    """A ban made on one process: `removed` on the user's connections on both, then silence."""
    a, b = await start_servers(2)
    on_a = await open_client(a.url, "ann")
    on_b = await open_client(b.url, "ann")
    amy = await open_client(b.url, "amy")
    for client in (on_a, on_b, amy):
        await client.subscribe(ROOM, since=None)
    await on_b.wait_for(lambda f: f.get("type") == "presence" and "amy" in f["online"])
    await amy.typing(ROOM)
    assert (await on_a.wait_for(lambda f: f.get("type") == "typing"))["user"]["username"] == "amy"
    mo = await open_client(a.url, "mo")
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{a.url}/api/rooms/{ROOM}/bans",
            json={"username": "ann", "reason": "spam"},
            headers=bearer(mo.token),
        )
        assert r.status_code == 201, r.text
    for client in (on_a, on_b):
        removed = await client.wait_for(lambda f: f.get("type") == "removed", timeout=5)
        assert removed["room"] == ROOM
    ack = await amy.send(ROOM, "na de ban")
    await amy.wait_seq(ROOM, int(ack["seq"]))
    await amy.typing(ROOM)
    for client in (on_a, on_b):
        await client.ping()
        after = (
            client.frames[client.frames.index(removed) + 1 :] if removed in client.frames else []
        )
        assert not [f for f in after if f.get("room") == ROOM and f.get("type") != "removed"]
        with pytest.raises(ClientError) as refused:
            await client.subscribe(ROOM, since=0)
        assert refused.value.code == "forbidden"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_presence_typing_and_read_markers_cross_processes(
    backend: str, start_servers: StartServers, open_client: OpenClient
) -> None:
    """Presence lists users on both processes; a read marker reaches the user's other process."""
    a, b = await start_servers(2)
    ann = await open_client(a.url, "ann")
    amy = await open_client(b.url, "amy")
    await ann.subscribe("area-a", since=None)
    await amy.subscribe("area-a", since=None)
    await ann.wait_for(lambda f: f.get("type") == "presence" and f["online"] == ["amy", "ann"])
    await amy.wait_for(lambda f: f.get("type") == "presence" and f["online"] == ["amy", "ann"])
    ack = await amy.send("area-a", "hallo")
    ann_elsewhere = await open_client(b.url, "ann")
    await ann.read("area-a", int(ack["seq"]))
    pushed = await ann_elsewhere.wait_for(lambda f: f.get("type") == "read")
    assert pushed["seq"] == ack["seq"]
    await amy.close()
    await ann.wait_for(lambda f: f.get("type") == "presence" and f["online"] == ["ann"])


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_serve_with_two_workers_behaves_as_one_server(
    backend: str, cluster_env: dict[str, str], open_client: OpenClient
) -> None:
    """`werkplaats serve --workers 2`: clients spread over the workers see one stream."""
    server = ServerProcess(cluster_env, workers=2)
    server.start()
    try:
        await asyncio.to_thread(server.wait_ready, 60)
        users = ("ann", "amy", "bob", "rita", "mo", "ada")
        clients = [await open_client(server.url, u) for u in users]
        for client in clients:
            await client.subscribe(ROOM, since=0)
        acks = [a for acks in await asyncio.gather(*(burst(c, 5) for c in clients)) for a in acks]
        last = len(acks)
        for client in clients:
            await client.wait_seq(ROOM, last, timeout=30)
            assert_in_order_once(client, ROOM, 1, last)
    finally:
        await asyncio.to_thread(server.stop)

"""Faults between machines, on the topology of tests/net/topology.py, invariants after each.

Clients in the root namespace talk through nginx (TLS) to two application hosts, which reach
PostgreSQL and Redis through fault proxies. While the clients send (each send resent with
its client_id until acked), the faults below are made one after another; after each one
heals, the senders finish what they have in flight and the suite checks the invariants of
tests/net/load.py: none lost, none twice, no gaps, every client caught up within CATCH_UP s.

The short form (in `make test`) scales the faults to seconds and lowers the deadlines by
settings; the long form (`make chaos-net`, marked soak) runs them at the lengths of the issue
with the default deadlines.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from tests.helpers import CI
from tests.net import clock_step
from tests.net.load import CATCH_UP, Load, check_invariants, database, describe, wait_for
from tests.net.topology import Topology, available


@dataclass(frozen=True)
class Plan:
    name: str
    blackhole: float  # seconds of each black-hole
    latency: float  # seconds of 200 ms latency to PostgreSQL
    isolated: float  # seconds an application host is cut off
    keepalive: float  # the clients' WebSocket ping interval (and pong deadline)
    settings: dict[str, str] = field(default_factory=dict)


SHORT = Plan(
    "short",
    blackhole=3.0,
    latency=3.0,
    isolated=4.0,
    keepalive=1.0,
    settings={
        "WERKPLAATS_DATABASE_CONNECT_TIMEOUT_SECONDS": "1",
        "WERKPLAATS_DATABASE_COMMAND_TIMEOUT_SECONDS": "1",
        "WERKPLAATS_REDIS_HEALTH_SECONDS": "0.3",
    },
)
LONG = Plan("long", blackhole=30.0, latency=60.0, isolated=30.0, keepalive=10.0)
CLIENTS = 8
ROOMS = [f"net-{r}" for r in range(2)]


@pytest.fixture(scope="module", params=[SHORT, pytest.param(LONG, marks=pytest.mark.soak)])
def topo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Topology, Plan]]:
    why = available()
    if why is not None:
        if CI:
            pytest.fail(f"the network topology cannot be built: {why}")
        pytest.skip(why)
    plan: Plan = request.param
    topology = Topology(
        tmp_path_factory.mktemp("net"),
        users=CLIENTS,
        rooms=len(ROOMS) + clock_step.ROOMS,
        workers=int(os.environ.get("WERKPLAATS_NET_WORKERS", "2")),
        settings=plan.settings,
        # The hosts' clocks 5 minutes apart (an hour in the long form) throughout.
        app_settings=clock_step.app_settings(clock_step.STEPS[plan.name]),
        admins=(clock_step.ADMIN,),
    )
    topology.start()
    try:
        yield topology, plan
    finally:
        topology.stop()


async def restored_after(topo: Topology) -> dict[str, tuple[int, int]]:
    """Per room, the seq its history stopped at in the restore, and its `restored` event's."""
    conn = await asyncpg.connect(topo.db_dsn, timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT r.slug, e.seq, e.data FROM events e JOIN rooms r ON r.id = e.room_id "
            "WHERE e.type = 'restored' AND r.slug LIKE 'net-%'"
        )
    finally:
        await conn.close()
    return {row["slug"]: (json.loads(row["data"])["after"], row["seq"]) for row in rows}


async def readyz(topo: Topology, app: str) -> int | str:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(f"{topo.app_url(app)}/readyz")).status_code
    except httpx.HTTPError as exc:
        return type(exc).__name__


async def until_readyz(topo: Topology, app: str, status: int, timeout: float) -> float:
    """Seconds until the app host's /readyz answers `status` (the detection time)."""
    start = time.monotonic()
    while (answer := await readyz(topo, app)) != status:
        assert time.monotonic() - start < timeout, f"{app} /readyz still {answer} after {timeout} s"
        await asyncio.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_faults_between_hosts_keep_every_invariant(topo: tuple[Topology, Plan]) -> None:
    """Black-holes to Redis and PostgreSQL, latency, a host cut off, nginx draining a host."""
    topology, plan = topo
    load = Load(topology, plan.keepalive, CLIENTS, ROOMS)
    results: dict[str, dict[str, float]] = {}
    await load.start()
    try:
        await asyncio.sleep(1.0)

        # Redis black-holed from app1: /readyz says so, live events between hosts fall back
        # to the database, the subscriber connection is replaced after the heal.
        topology.fault("app1-redis", "blackhole")
        detected = await until_readyz(topology, "app1", 503, 10)
        await asyncio.sleep(plan.blackhole)
        topology.fault("app1-redis", "heal")
        await until_readyz(topology, "app1", 200, 30)
        results["redis black-hole"] = {
            "503 after": detected,
            "caught up": await check_invariants(load, "redis"),
        }

        # PostgreSQL black-holed from app1 while sends are in flight.
        topology.fault("app1-db", "blackhole")
        detected = await until_readyz(topology, "app1", 503, 10)
        await asyncio.sleep(plan.blackhole)
        topology.fault("app1-db", "heal")
        await until_readyz(topology, "app1", 200, 30)
        results["postgres black-hole"] = {
            "503 after": detected,
            "caught up": await check_invariants(load, "postgres"),
        }

        # 200 ms (± 20 ms) to PostgreSQL from both hosts.
        for app in ("app1", "app2"):
            topology.fault(f"{app}-db", "latency", 0.2, 0.02)
        await asyncio.sleep(plan.latency)
        for app in ("app1", "app2"):
            topology.fault(f"{app}-db", "heal")
        results["postgres latency"] = {"caught up": await check_invariants(load, "latency")}

        # app1 cut off from everything (its link down: packets vanish, no RST): its clients'
        # pings go unanswered, they reconnect through nginx, which gives up connecting to app1.
        topology.isolate("app1")
        await asyncio.sleep(plan.isolated)
        topology.reconnect("app1")
        await until_readyz(topology, "app1", 200, 60)
        results["app1 cut off"] = {"caught up": await check_invariants(load, "isolated")}

        # nginx reloaded with app2 drained, then with it back.
        topology.reload_nginx(drained=("app2",))
        await asyncio.sleep(1.0)
        topology.reload_nginx()
        results["nginx drain"] = {"caught up": await check_invariants(load, "nginx reload")}
    finally:
        await load.close()
    print(f"\n{plan.name}: {len(load.acks)} acked, {load.refusals} refused and resent")
    for fault, figures in results.items():
        print(f"  {fault:<22} " + ", ".join(f"{k} {v:.1f} s" for k, v in figures.items()))
    reconnects = sum(max(0, c.connects - 1) for c in load.clients.values())
    print(f"  client reconnects: {reconnects}")


@pytest.mark.soak  # about 100 s more on the shared topology: `make chaos-net` only
@pytest.mark.timeout(900)
async def test_restore_drill_keeps_what_was_acked_and_tells_clients_that_ran_ahead(
    topo: tuple[Topology, Plan],
) -> None:
    """Back up under load, lose the database host, restore, restart the servers: every
    message acked before the backup is there once, seqs stay contiguous, and a client that
    saw seqs past the restored last_seq gets `reset` and then the room as it now is."""
    topology, plan = topo
    load = Load(topology, plan.keepalive, CLIENTS, ROOMS)
    await load.start()
    try:
        await asyncio.sleep(1.0)
        before = dict(load.acks)  # acked, so committed before pg_dump's snapshot begins
        backup = topology.workdir / "drill.dump"
        await asyncio.to_thread(topology.cli, "backup", str(backup))
        await asyncio.sleep(1.0)  # acked after the backup: these are lost with the host
        await load.pause()
        ahead = {u: dict(c.last_seq) for u, c in load.clients.items()}

        await asyncio.to_thread(topology.destroy_database)
        for app in ("app1", "app2"):
            await asyncio.to_thread(topology.stop_app, app)
        await asyncio.to_thread(topology.create_database)
        await asyncio.to_thread(topology.cli, "restore", str(backup))
        for app in ("app1", "app2"):
            topology.start_app(app)
        for app in ("app1", "app2"):
            await asyncio.to_thread(topology.wait_ready, app)

        _, by_cid, last = await database(topology)
        lost = [c for c in before if by_cid.get(c) != [(before[c]["message_id"], before[c]["seq"])]]
        assert not lost, f"acked before the backup, not restored as acked: {lost[:5]}"
        # The restore moved every room's seq on past anything handed out before the loss.
        skipped = await restored_after(topology)
        seen = {r: max(a.get(r, 0) for a in ahead.values()) for r in load.rooms}
        for room in load.rooms:
            after, marker = skipped[room]
            assert last[room] == marker > seen[room] >= after, (room, skipped[room], seen[room])
        told = [
            u for u in load.clients if any(ahead[u].get(r, 0) > skipped[r][0] for r in load.rooms)
        ]
        # Every client reconnects and resubscribes; those that ran ahead are told `reset`.
        await wait_for(
            lambda: all(len(load.clients[u].resets) > 0 for u in told),
            CATCH_UP,
            lambda: (
                "not told reset: "
                + "; ".join(describe(load.clients[u]) for u in told if not load.clients[u].resets)
            ),
        )
        assert told, "the drill lost nothing: no client ran ahead of the backup"
        # Only what was acked before the backup is owed from here on.
        load.acks = {c: a for c, a in load.acks.items() if c in before}
        load.resume()
        await asyncio.sleep(1.0)
        await check_invariants(load, "restore")
        # Seqs continue without reuse: every ack since the restore lies past the marker.
        fresh = [a for c, a in load.acks.items() if c not in before]
        assert fresh and all(a["seq"] > skipped[a["room"]][1] for a in fresh)
    finally:
        await load.close()
    print(f"\nrestore drill: {len(before)} acked before the backup, all restored; "
          f"{len(told)} clients told reset")  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_hosts_with_stepped_clocks_decide_on_one_clock(topo: tuple[Topology, Plan]) -> None:
    """Sessions, slow mode, bans with `until`, registration closing and created_at order on
    hosts whose clocks are minutes apart (tests/net/clock_step.py)."""
    topology, plan = topo
    await clock_step.check(topology, clock_step.STEPS[plan.name])

"""Application hosts whose wall clocks are 5 minutes apart, on the topology of
tests/net/topology.py: app1 runs 300 s ahead, app2 300 s behind
(`WERKPLAATS_CLOCK_OFFSET_SECONDS`, docs/reliability.md "Clocks"), and still:

- sessions made on either host are valid on both, and end on the database's clock;
- a user's posts alternating between the hosts obey the room's slow mode exactly: refused
  (`rate_limited`, `retry_after` within the interval) right after a post on the other host,
  accepted once the interval has passed;
- a ban with `until` holds on both hosts until then and ends on both at that moment (within
  the test's margin of seconds, not 5 minutes);
- a meeting's registration is open on both hosts until `registration_closes_at` and closed
  on both after it;
- every message's created_at is the database's time, and seq order and created_at order agree
  across the hosts, concurrent sends included.

The times are decided by the hosts and the database, never by this test's clock: it reads
the database's `now()` for the moments it sets and waits on its own monotonic clock.
`check` runs on the topology that tests/net/test_topology.py builds (with `app_settings`
and `ROOMS` more rooms), after its fault suite: a topology of its own would cost its start
(well over a minute on a loaded machine). The short form runs in `make test`; the long one
(soak) steps the clocks by an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from chat.client import Client, ClientError
from tests.net.topology import PASSWORD, Topology

APPS = ("app1", "app2")
ROOMS = 2  # the topology's last two rooms are this check's own
ADMIN, MEMBER = "net000", "net001"


@dataclass(frozen=True)
class Step:
    name: str
    offset: float  # app1 runs this many seconds ahead, app2 as many behind
    slow: int  # the room's slow mode (seconds)
    window: float  # how far off a ban's end and registration's close lie


STEPS = {
    "short": Step("short", offset=300.0, slow=3, window=6.0),
    "long": Step("long", offset=3600.0, slow=20, window=20.0),
}
# What the hosts and the test may be late by (a loaded machine): a decision the test
# expects on one side of a moment is asked for at least this far from it.
MARGIN = 1.5


def app_settings(step: Step) -> dict[str, dict[str, str]]:
    """The topology's per-host settings: app1 ahead, app2 behind."""
    return {
        "app1": {"WERKPLAATS_CLOCK_OFFSET_SECONDS": str(step.offset)},
        "app2": {"WERKPLAATS_CLOCK_OFFSET_SECONDS": str(-step.offset)},
    }


class Hosts:
    """HTTP to each application host straight (no nginx: the test picks the host)."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.http = httpx.AsyncClient(timeout=30, headers={"Origin": topo.base})

    async def login(self, app: str, user: str) -> str:
        r = await self.http.post(
            f"{self.topo.app_url(app)}/api/session", json={"username": user, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        token: str = r.json()["token"]
        return token

    async def call(
        self, app: str, method: str, path: str, token: str, body: Any = None
    ) -> httpx.Response:
        return await self.http.request(
            method,
            f"{self.topo.app_url(app)}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )


async def db_now(topo: Topology) -> datetime:
    conn = await asyncpg.connect(topo.db_dsn, timeout=10)
    try:
        now: datetime = await conn.fetchval("SELECT now()")
    finally:
        await conn.close()
    return now


async def until_monotonic(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


async def refused(client: Client, room: str, body: str) -> ClientError:
    with pytest.raises(ClientError) as caught:
        await client.send(room, body, timeout=30)
    return caught.value


async def check(topo: Topology, step: Step) -> None:
    """Every point of the module docstring, in the topology's last `ROOMS` rooms."""
    room_slow, room_ban = (f"net-{topo.rooms - ROOMS + n}" for n in range(ROOMS))
    assert ADMIN in topo.admins, "the topology makes the check's admin"
    hosts = Hosts(topo)
    clients: dict[str, Client] = {}
    try:
        admin = await hosts.login("app1", ADMIN)
        # Sessions: made on each host, valid on both; they end session_days after the
        # database's now, not after either host's.
        tokens = {app: await hosts.login(app, MEMBER) for app in APPS}
        for made, token in tokens.items():
            for app in APPS:
                r = await hosts.call(app, "GET", "/api/rooms", token)
                assert r.status_code == 200, (made, app, r.text)
        conn = await asyncpg.connect(topo.db_dsn, timeout=10)
        try:
            ends = await conn.fetch(
                "SELECT expires_at - now() - interval '30 days' AS off FROM sessions"
                " WHERE user_id = (SELECT id FROM users WHERE username = $1)"
                " ORDER BY id DESC LIMIT 2",
                MEMBER,
            )
        finally:
            await conn.close()
        assert ends and all(abs(r["off"].total_seconds()) < 60 for r in ends), ends

        for app in APPS:
            clients[app] = Client(topo.app_url(app), tokens[app], keepalive=5)
            await clients[app].connect()

        # Slow mode: posts alternating between the hosts, each decided against the other
        # host's last post on the database's clock.
        r = await hosts.call(
            "app1", "PATCH", f"/api/rooms/{room_slow}", admin, {"slow_mode_seconds": step.slow}
        )
        assert r.status_code == 200, r.text
        order = ["app1", "app2", "app1"]
        for n, (app, other) in enumerate(itertools.pairwise(order)):
            await clients[app].send(room_slow, f"slow {n}", timeout=30)
            posted = time.monotonic()
            error = await refused(clients[other], room_slow, f"slow {n} early")
            assert error.code == "rate_limited", error.frame
            assert error.retry_after is not None and 0 < error.retry_after <= step.slow, error.frame
            await until_monotonic(posted + step.slow + MARGIN)
        await clients[order[-1]].send(room_slow, "slow last", timeout=30)
        conn = await asyncpg.connect(topo.db_dsn, timeout=10)
        try:
            gaps = await conn.fetch(
                "SELECT created_at - lag(created_at) OVER (ORDER BY seq) AS gap FROM messages"
                " WHERE room_id = (SELECT id FROM rooms WHERE slug = $1) ORDER BY seq",
                room_slow,
            )
        finally:
            await conn.close()
        assert len(gaps) == len(order)
        for row in gaps[1:]:
            assert step.slow <= row["gap"].total_seconds() < step.slow + 30, gaps

        # A ban with `until` and a meeting whose registration closes at the same moment,
        # both set through the host that runs ahead: in force (open) on both hosts until
        # then, over (closed) on both after it.
        set_at = time.monotonic()
        now = await db_now(topo)
        moment = (now + timedelta(seconds=step.window)).isoformat()
        r = await hosts.call(
            "app1",
            "POST",
            f"/api/rooms/{room_ban}/bans",
            admin,
            {"username": MEMBER, "reason": "klokproef", "until": moment},
        )
        assert r.status_code == 201, r.text
        meeting = {
            "slug": "klokproef",
            "title": "Klokproef",
            "theme": room_slow,
            "date": (now + timedelta(days=2)).isoformat(),
            "place": "Utrecht",
            "registration_closes_at": moment,
        }
        r = await hosts.call("app1", "POST", "/api/meetings", admin, meeting)
        assert r.status_code == 201, r.text
        answers = {"app1": "going", "app2": "maybe"}
        for app, answer in answers.items():
            r = await hosts.call(app, "GET", f"/api/rooms/{room_ban}/events", tokens[app])
            assert r.status_code == 403, (app, r.text)
            error = await refused(clients[app], room_ban, f"banned on {app}")
            assert error.code == "forbidden", error.frame
            r = await hosts.call(
                app, "PUT", "/api/meetings/klokproef/registration", tokens[app], {"status": answer}
            )
            assert r.status_code == 200, (app, r.text)
        assert time.monotonic() < set_at + step.window - MARGIN / 2, "the machine is too slow"
        await until_monotonic(set_at + step.window + MARGIN)
        for app, answer in answers.items():
            r = await hosts.call(app, "GET", f"/api/rooms/{room_ban}/events", tokens[app])
            assert r.status_code == 200, (app, r.text)
            await clients[app].send(room_ban, f"back on {app}", timeout=30)
            r = await hosts.call(
                app, "PUT", "/api/meetings/klokproef/registration", tokens[app], {"status": answer}
            )
            assert r.status_code == 409, (app, r.text)

        # Concurrent sends on both hosts: seq order and created_at order agree.
        await asyncio.gather(
            *(
                clients[app].send(room_ban, f"burst {app} {n}", timeout=60)
                for n in range(10)
                for app in APPS
            )
        )
        conn = await asyncpg.connect(topo.db_dsn, timeout=10)
        try:
            rows = await conn.fetch(
                "SELECT m.seq, m.created_at, now() - m.created_at AS age FROM messages AS m"
                " JOIN rooms AS r ON r.id = m.room_id WHERE r.slug = ANY($1::varchar[])"
                " ORDER BY r.slug, m.seq",
                [room_slow, room_ban],
            )
            events = await conn.fetch(
                "SELECT e.room_id, e.created_at FROM events AS e"
                " JOIN rooms AS r ON r.id = e.room_id WHERE r.slug = ANY($1::varchar[])"
                " ORDER BY e.room_id, e.seq",
                [room_slow, room_ban],
            )
        finally:
            await conn.close()
        assert len(rows) == len(order) + 2 + 20
        # On the database's clock: none stamped by a host that is minutes off.
        assert all(timedelta(0) <= r["age"] < timedelta(minutes=2) for r in rows), rows
        for earlier, later in itertools.pairwise(events):
            if earlier["room_id"] == later["room_id"]:
                assert earlier["created_at"] <= later["created_at"], (earlier, later)
    finally:
        for client in clients.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)
        await hosts.http.aclose()

"""Clients that talk through the topology's nginx, and the invariants checked after a fault.

Shared by the fault suite (test_topology.py) and the rolling upgrade (test_rolling_upgrade.py):

- every acked message is stored exactly once, with the acked id and seq (none lost, none
  twice: a send caught in a fault failed cleanly or committed, and its resend settled it);
- every room's seqs are 1..last_seq, without gap or repeat;
- every client has caught up with each of its rooms within CATCH_UP seconds, saw each event
  once and in order, and its view equals the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from chat.client import Client, ClientError
from tests.net.topology import PASSWORD, Topology
from tests.ops.tls import client_context

# After a heal, every client has every event within this long (the plan's deadlines, the
# clients' reconnect backoff of at most 5 s, and the hubs' database poll, with room to spare).
CATCH_UP = 30.0

# An event as the database lists it and a client saw it: seq, type, message id.
Seen = tuple[int, str, int | None]
# Each client by user name, with the rooms it subscribed.
Views = dict[str, tuple[Client, list[str]]]


@dataclass
class Load:
    """Clients that post through nginx, each send resent with its client_id until acked.

    Client `u` of `clients` is user net{u:03d}; it subscribes to `per_client` of the rooms
    (all when None, consecutive ones from u on otherwise) and sends into them, one send at
    a time, `pace` seconds apart (uniform between the two)."""

    topo: Topology
    keepalive: float
    users: int
    rooms: list[str]
    per_client: int | None = None
    pace: tuple[float, float] = (0.1, 0.4)
    clients: dict[str, Client] = field(default_factory=dict)
    rooms_of: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    refusals: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # why a send was resent
    running: asyncio.Event = field(default_factory=asyncio.Event)
    idle: dict[str, asyncio.Event] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        tls = client_context(self.topo.cert)
        async with httpx.AsyncClient(verify=tls, timeout=30) as http:
            for u in range(self.users):
                user = f"net{u:03d}"
                r = await http.post(
                    f"{self.topo.base}/api/session",
                    json={"username": user, "password": PASSWORD},
                    headers={"Origin": self.topo.base},
                )
                assert r.status_code == 200, r.text
                self.tokens[user] = r.json()["token"]
        # All upgrades after all logins: round robin then puts half the sockets on each host.
        for u, (user, token) in enumerate(self.tokens.items()):
            count = len(self.rooms) if self.per_client is None else self.per_client
            self.rooms_of[user] = [self.rooms[(u + i) % len(self.rooms)] for i in range(count)]
            client = Client(self.topo.base, token, ssl=tls, keepalive=self.keepalive)
            await client.connect()
            for room in self.rooms_of[user]:
                await client.subscribe(room, since=0)
            self.clients[user] = client
            self.idle[user] = asyncio.Event()
        self.running.set()
        self.tasks = [asyncio.create_task(self.sender(u)) for u in self.clients]

    async def sender(self, user: str) -> None:
        client, rng, number = self.clients[user], random.Random(user), 0
        while True:
            if not self.running.is_set():
                self.idle[user].set()
                await self.running.wait()
                self.idle[user].clear()
            number += 1
            cid, room = f"{user}-{number}", rng.choice(self.rooms_of[user])
            while True:
                try:
                    ack = await client.send(room, f"{user} {number}", client_id=cid, timeout=15)
                    break
                except (ClientError, TimeoutError, ConnectionError) as exc:
                    # Refused while a fault lasts (`internal`, `unavailable`) or the socket was
                    # lost: the same client_id again, which the server settles.
                    self.refusals += 1
                    why = exc.code if isinstance(exc, ClientError) else type(exc).__name__
                    self.refused[why] += 1
                    await asyncio.sleep(0.3)
            if cid in self.acks and self.acks[cid]["message_id"] != ack["message_id"]:
                self.conflicts.append(cid)
            self.acks[cid] = {"room": room, "message_id": ack["message_id"], "seq": ack["seq"]}
            await asyncio.sleep(rng.uniform(*self.pace))

    async def pause(self) -> None:
        """Stop starting sends, and wait until each sender's last one is acked."""
        self.running.clear()
        async with asyncio.timeout(60):
            await asyncio.gather(*(e.wait() for e in self.idle.values()))

    def resume(self) -> None:
        self.running.set()

    def views(self) -> Views:
        return {u: (c, self.rooms_of[u]) for u, c in self.clients.items()}

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)


async def database(topo: Topology, rooms: str = "net-%") -> tuple[dict[str, list[Seen]],
                                              dict[str, list[tuple[int, int]]], dict[str, int]]:  # fmt: skip
    """The events of the rooms whose slug is LIKE `rooms` by slug, in seq order; every
    message's (id, seq) by client_id; and those rooms' last seqs."""
    conn = await asyncpg.connect(topo.db_dsn, timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT r.slug, e.seq, e.type, e.message_id FROM events e "
            "JOIN rooms r ON r.id = e.room_id WHERE r.slug LIKE $1 ORDER BY r.slug, e.seq",
            rooms,
        )
        messages = await conn.fetch("SELECT client_id, id, seq FROM messages")
        last = dict(await conn.fetch("SELECT slug, last_seq FROM rooms WHERE slug LIKE $1", rooms))
    finally:
        await conn.close()
    events: dict[str, list[Seen]] = defaultdict(list)
    for row in rows:
        events[row["slug"]].append((row["seq"], row["type"], row["message_id"]))
    by_cid: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for m in messages:
        by_cid[m["client_id"]].append((m["id"], m["seq"]))
    return events, by_cid, last


async def check_invariants(load: Load, fault: str) -> float:
    """Every invariant of the module docstring; returns the seconds the clients took to catch up."""
    healed = time.monotonic()
    await load.pause()
    events, by_cid, last = await database(load.topo)
    broken = acked_breaks(load.acks, by_cid, load.conflicts) + seq_breaks(events, last, load.rooms)
    assert not broken, f"after {fault}: {broken}"
    views = load.views()
    await wait_for(
        lambda: not behind(views, last),
        CATCH_UP,
        lambda: f"after {fault} behind: {behind(views, last)}",
    )
    caught_up = time.monotonic() - healed
    broken = client_breaks(views, events)
    assert not broken, f"after {fault}: {broken[:3]}"
    load.resume()
    return caught_up


def acked_breaks(
    acks: dict[str, dict[str, Any]], by_cid: dict[str, list[tuple[int, int]]], conflicts: list[str]
) -> list[str]:
    """What broke of: every acked message stored once, with the acked id and seq."""
    lost = [c for c in acks if c not in by_cid]
    twice = [c for c, found in by_cid.items() if len(found) > 1]
    other = [
        c for c, a in acks.items() if c in by_cid and by_cid[c][0] != (a["message_id"], a["seq"])
    ]
    found = {
        "lost": lost,
        "stored twice": twice,
        "other id/seq": other,
        "conflicting acks": conflicts,
    }
    return [
        f"{len(which)} acked messages {what}: {which[:5]}" for what, which in found.items() if which
    ]


def seq_breaks(
    events: dict[str, list[Seen]], last: dict[str, int], rooms: Iterable[str]
) -> list[str]:
    """The rooms whose seqs do not follow on from 1 to their last."""
    return [
        f"{room}: seqs not 1..{last[room]} without gap or repeat"
        for room in rooms
        if not seqs_follow_on(events[room], last[room])
    ]


def behind(views: Views, last: dict[str, int]) -> list[str]:
    """The subscriptions (user/room) whose client has not yet seen the room's last seq."""
    return [
        f"{user}/{room}"
        for user, (client, rooms) in views.items()
        for room in rooms
        if client.last_seq.get(room, 0) < last[room]
    ]


def client_breaks(views: Views, events: dict[str, list[Seen]]) -> list[str]:
    """What broke of: every client saw each event once and in order, as the database has it."""
    broken = []
    for user, (client, rooms) in views.items():
        if client.gaps or client.duplicates:
            broken.append(f"{user}: gaps {client.gaps[:3]}, duplicates {len(client.duplicates)}")
        for room in rooms:
            seen = [(e["seq"], e["type"], e.get("message_id")) for e in client.events.get(room, [])]
            if seen != events[room]:
                broken.append(f"{user}/{room}: the client's events differ from the db")
    return broken


def seqs_follow_on(events: list[Seen], last: int) -> bool:
    """Seqs 1..last without gap or repeat, but for the seqs a restore skipped: a `restored`
    event may follow a jump (`werkplaats restore` moves every room's seq on)."""
    previous = 0
    for seq, kind, _ in events:
        if seq != previous + 1 and not (kind == "restored" and seq > previous):
            return False
        previous = seq
    return previous == last


async def wait_for(condition: Callable[[], bool], timeout: float,
                   why: Callable[[], str] = lambda: "") -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {why()}")
        await asyncio.sleep(0.05)


def describe(client: Client) -> str:
    """What a client that is behind last heard (for the failure message)."""
    heard = [f for f in client.frames if f.get("type") in ("subscribed", "error", "hello")]
    return (
        f"connected={client._connected.is_set()} connects={client.connects} "
        f"closes={client.close_codes[-3:]} failed={client.failed_attempts[-8:]} "
        f"last={heard[-4:]}"
    )[:600]

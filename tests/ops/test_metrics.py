"""`GET /metrics`: who may read it, and sums over the workers of `serve --workers 2`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chat.client import Client, ClientError
from tests.helpers import ServerProcess, make_settings, running_server, token_for
from tests.ops.conftest import log_lines, serve_env, start
from web.metrics import may_read_metrics

TOKEN = "metrics-token-0123456789abcdef"
ROOM = "theme-one"
USERS = ("ann", "amy", "bob", "rita", "mo", "ada")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(base: str) -> Samples:
    r = httpx.get(f"{base}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


@pytest.mark.parametrize(
    ("peer", "headers", "token", "allowed"),
    [
        ("127.0.0.1", [], None, True),
        ("::1", [], None, True),
        ("127.0.0.1", [("x-forwarded-for", "203.0.113.9")], None, False),
        ("127.0.0.1", [("forwarded", "for=203.0.113.9")], None, False),
        ("127.0.0.1", [("x-real-ip", "203.0.113.9")], None, False),
        ("192.0.2.7", [], None, False),
        ("192.0.2.7", [("authorization", f"Bearer {TOKEN}")], None, False),
        ("192.0.2.7", [("authorization", f"Bearer {TOKEN}")], TOKEN, True),
        ("192.0.2.7", [("authorization", f"bearer {TOKEN}")], TOKEN, True),
        ("192.0.2.7", [("authorization", f"Bearer {TOKEN}x")], TOKEN, False),
        ("192.0.2.7", [("authorization", f"Basic {TOKEN}")], TOKEN, False),
        ("192.0.2.7", [("authorization", "Bearer ")], TOKEN, False),
        (None, [], None, False),
        ("not-an-address", [], None, False),
    ],
)
def test_who_may_read_metrics(
    peer: str | None, headers: list[tuple[str, str]], token: str | None, allowed: bool
) -> None:
    """Loopback that no proxy forwarded, or the metrics token; nobody else."""
    assert may_read_metrics(peer, headers, token) is allowed


@pytest.fixture
async def token_server(db_url: str) -> AsyncIterator[str]:
    async with running_server(make_settings(db_url, metrics_token=TOKEN)) as base:
        yield base


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_one_process_serves_its_own_registry(backend: str, token_server: str) -> None:
    """One process, no multiprocess directory: /metrics from loopback lists the metrics."""
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{token_server}/metrics")
    assert r.status_code == 200
    names = {name for name, _ in samples(r.text)}
    assert {"werkplaats_ws_connections", "werkplaats_broker_up"} <= names


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_proxied_request_without_token_is_404(backend: str, token_server: str) -> None:
    """A request a proxy forwarded (from outside) without the token: 404 like no such path."""
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{token_server}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_wrong_token_is_404(backend: str, token_server: str) -> None:
    """From outside with a wrong token: 404."""
    headers = {"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {TOKEN}-not"}
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{token_server}/metrics", headers=headers)
    assert r.status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_right_token_is_200_from_outside(backend: str, token_server: str) -> None:
    """From outside with `Authorization: Bearer <WERKPLAATS_METRICS_TOKEN>`: the metrics."""
    headers = {"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{token_server}/metrics", headers=headers)
    assert r.status_code == 200
    assert "werkplaats_ws_connections" in r.text


def opened_by_pid(server: ServerProcess) -> dict[str, int]:
    """WebSocket connections opened so far, per worker (from the `ws open` log lines)."""
    counts: dict[str, int] = {}
    for line in log_lines(server):
        if line["msg"] == "ws open":
            counts[line["pid"]] = counts.get(line["pid"], 0) + 1
    return counts


async def clients_on_both_workers(
    server: ServerProcess, tokens: list[str], opened: list[Client]
) -> None:
    """Connect a client per token (reconnect off), then more until both workers hold some;
    appended to `opened`.

    Both workers wake for a new connection and the first to run takes it. On a quiet
    machine that can be the same one every time, so the one holding them all is paused
    (SIGSTOP) while the next connects, and the other takes it.
    """

    async def connect(token: str) -> None:
        client = Client(server.url, token, reconnect=False)
        opened.append(client)
        await client.connect()
        async with asyncio.timeout(10):
            while sum(opened_by_pid(server).values()) < len(opened):
                await asyncio.sleep(0.05)

    for token in tokens:
        await connect(token)
    while len(per_pid := opened_by_pid(server)) < 2:
        [busy] = per_pid
        os.kill(int(busy), signal.SIGSTOP)
        try:
            await connect(tokens[len(opened) % len(tokens)])
        finally:
            os.kill(int(busy), signal.SIGCONT)


async def wait_metrics(base: str, done: Callable[[Samples], bool], timeout: float = 20) -> Samples:
    """Scrape until `done(samples)` (another worker flushes its counts once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await asyncio.to_thread(scrape, base)
        if done(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


@pytest.fixture
def two_workers(db_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    server = start(serve_env(db_url, tmp_path))
    yield server
    server.stop()


@pytest.mark.slow
async def test_two_workers_add_up(backend: str, two_workers: ServerProcess) -> None:
    """A conversation over connections on both workers: /metrics shows the sums."""
    server = two_workers
    tokens = [await asyncio.to_thread(token_for, server.url, u) for u in USERS]
    r = httpx.post(f"{server.url}/api/session", json={"username": "ann", "password": "nee"})
    assert r.status_code == 401
    clients: list[Client] = []
    try:
        await clients_on_both_workers(server, tokens, clients)
        n = len(clients)
        for client in clients:
            await client.subscribe(ROOM, since=None)
        last = 0
        for i, client in enumerate(clients):
            last = int((await client.send(ROOM, f"bericht {i}"))["seq"])
        with pytest.raises(ClientError):
            await clients[0].request(
                {"type": "send", "room": "nope", "body": "x", "client_id": "r"}
            )
        for client in clients:
            await client.wait_seq(ROOM, last)

        def done(found: Samples) -> bool:
            return (
                value(found, "werkplaats_sends_acked_total") == n
                and value(found, "werkplaats_deliveries_total") == n * n
                # Sampled once a second; each open connection is a task of its own at least.
                and value(found, "werkplaats_asyncio_tasks") >= n
            )

        found = await wait_metrics(server.url, done)
        assert value(found, "werkplaats_sends_acked_total") == n
        assert value(found, "werkplaats_deliveries_total") == n * n
        assert value(found, "werkplaats_ws_connections") == n
        assert value(found, "werkplaats_logins_total", result="ok") == len(USERS)
        assert value(found, "werkplaats_logins_total", result="failed") == 1
        refused = [v for (name, _), v in found.items() if name == "werkplaats_sends_refused_total"]
        assert sum(refused) == 1
        # subscribe, send and the refused send: every frame of every client counted.
        assert value(found, "werkplaats_ws_frames_received_total") >= 2 * n + 1
        assert value(found, "werkplaats_ws_frames_sent_total") >= n * n + 2 * n
        assert value(found, "werkplaats_db_round_trip_seconds_count", op="setup") == n
        # The refused send was refused inside its transaction: n + 1 at most.
        assert 1 <= value(found, "werkplaats_db_round_trip_seconds_count", op="send") <= n + 1
        assert value(found, "werkplaats_broker_up") == 1
        for client in clients:
            await client.close()

        def closed(found: Samples) -> bool:
            return value(found, "werkplaats_ws_connections") == 0

        found = await wait_metrics(server.url, closed)
        assert value(found, "werkplaats_ws_connections") == 0
        assert value(found, "werkplaats_ws_closes_total", code="1000") == n
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()


@pytest.mark.soak  # a long form: make soak-tests
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_dead_worker_connections_stop_counting(
    backend: str, two_workers: ServerProcess
) -> None:
    """A worker killed with its connections: the open-connections gauge drops them."""
    server = two_workers
    tokens = [await asyncio.to_thread(token_for, server.url, u) for u in USERS[:3]]
    clients: list[Client] = []
    try:
        await clients_on_both_workers(server, tokens, clients)
        per_pid = opened_by_pid(server)
        victim, survivor = sorted(per_pid)
        found = await wait_metrics(
            server.url, lambda f: value(f, "werkplaats_ws_connections") == len(clients)
        )
        assert value(found, "werkplaats_ws_connections") == len(clients)
        os.kill(int(victim), signal.SIGKILL)
        found = await wait_metrics(
            server.url, lambda f: value(f, "werkplaats_ws_connections") == per_pid[survivor]
        )
        assert value(found, "werkplaats_ws_connections") == per_pid[survivor]
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()

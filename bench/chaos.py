"""The chaos suite: three `werkplaats serve` processes, PostgreSQL and Redis, clients, faults.

    .venv/bin/python -m bench.chaos            # `make chaos`: >= 20 faults, a few minutes
    .venv/bin/python -m bench.chaos --short    # <= 60 s, fewer faults, no PostgreSQL restart

Clients (`chat.client.Client`) log in, subscribe to three of the rooms from seq 0 and post at
random intervals, with random connection drops, while the suite kill -9s and restarts server
processes, stops them gracefully, restarts Redis, pauses Redis with SIGSTOP, and (full run
only) restarts PostgreSQL. A client whose server is down is pointed at a live one, as a load
balancer would. Afterwards the suite stops the load, lets every client catch up, and checks:

- every acknowledged message is in the database exactly once, with the acked id and seq;
- every room's seqs are 1..last_seq without gap or repeat;
- every client's view of each room (seq, type, message id) equals the database;
- no client saw a gap or a duplicate, and a resent client_id got the original ack;
- `/readyz` answered 503 during every Redis and PostgreSQL outage long enough to be seen
  (the suite times each outage with its own direct checks of the dependency: longer than the
  probe interval plus /readyz's check timeout), and 200 after each fault;
- no server process died that the suite did not kill.

It prints a table of the faults injected and the invariants held; `--json FILE` writes the
figures too, and the workdir keeps every probe and direct check (probes.jsonl). Redis is a private `redis-server` on a spare port and the database a fresh one
on the local PostgreSQL, both removed afterwards; only the full run restarts PostgreSQL
itself (`pg_ctlcluster --skip-systemctl-redirect 15 main restart`), which affects every
database of that cluster: never run it where others depend on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.exceptions import InvalidHandshake, InvalidStatus

from chat.client import Client, ClientError, login
from web.health import CHECK_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
WERKPLAATS = str(Path(sys.executable).parent / "werkplaats")
PG_HOST = os.environ.get("WERKPLAATS_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}:5432/postgres"
PG_RESTART = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]
PASSWORD = "chaos-password"
# How long a fault may take to heal (every server /readyz 200) before it counts as not healed.
HEAL_TIMEOUT = 40.0
# /readyz of each server every PROBE_EVERY (after the previous answer, at most READYZ_WAIT).
PROBE_EVERY = 0.2
READYZ_WAIT = 5.0
# The suite's own look at the dependency during an outage fault.
WATCH_EVERY = 0.02
WATCH_TIMEOUT = 0.5
# An outage must show as a 503 when it lasts longer than a probe can take to land in it:
# the pause between probes plus the longest a /readyz may take (its check's timeout).
MUST_SHOW = PROBE_EVERY + CHECK_TIMEOUT
REDIS_ARGS = ("redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")


# --- The plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    name: str
    faults: tuple[str, ...]
    clients: int = 50
    rooms: int = 10
    servers: int = 3
    warmup: float = 4.0
    gap: float = 3.0  # load between faults
    redis_pause: float = 10.0
    converge: float = 60.0


FULL = Plan(
    "full",
    faults=(
        "kill9",
        "redis_restart",
        "kill9",
        "redis_pause",
        "kill9",
        "term",
        "pg_restart",
        "kill9",
        "kill9_two",
        "redis_restart",
        "kill9",
        "redis_pause",
        "kill9",
        "term",
        "kill9",
        "pg_restart",
        "kill9",
        "redis_restart",
        "kill9_two",
        "kill9",
        "redis_restart",
        "kill9",
    ),
)
# `make test`'s form: each kind of fault once (no PostgreSQL restart), fewer clients.
SHORT = Plan(
    "short",
    faults=("kill9", "redis_restart", "redis_pause", "term"),
    clients=12,
    warmup=1.0,
    gap=1.0,
    redis_pause=3.0,
    converge=40.0,
)
OUTAGES = {"redis_restart", "redis_pause", "pg_restart"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def community(users: int, rooms: int) -> str:
    """A community file: `rooms` theme rooms (everyone reads) and `users` members."""
    parts = [f'[[theme]]\nslug = "chaos-{r}"\nname = "Chaos {r}"\n' for r in range(rooms)]
    parts += [
        f'[[user]]\nusername = "chaos{u:02d}"\ndisplay_name = "Chaos {u}"\n'
        f'organisation = "Chaos"\nlayer = "overig"\npassword = "{PASSWORD}"\n'
        for u in range(users)
    ]
    return "\n".join(parts)


# --- The processes ------------------------------------------------------------------------


class RedisServer:
    """A private redis-server without persistence, to kill, restart and pause."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*REDIS_ARGS, "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)


class Server:
    """One `werkplaats serve` process on a fixed port (restarted on the same port)."""

    def __init__(self, index: int, env: dict[str, str], workdir: Path) -> None:
        self.index = index
        self.port = free_port()
        self.env = env
        self.log = workdir / f"server-{index}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.up = False
        self.expected_exit = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.expected_exit = False
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [WERKPLAATS, "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )

    async def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server {self.index} exited: see {self.log}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        self.up = True
                        return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"server {self.index} did not start: see {self.log}")

    def stop(self, sig: int) -> None:
        self.up = False
        self.expected_exit = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float = 20) -> None:
        assert self.proc is not None
        try:
            await asyncio.to_thread(self.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, 10)

    @property
    def died(self) -> bool:
        """Exited without the suite asking it to."""
        return self.proc is not None and self.proc.poll() is not None and not self.expected_exit


# --- Readiness probes ---------------------------------------------------------------------


@dataclass
class Probe:
    at: float
    done: float
    server: int
    status: int | str


@dataclass
class Check:
    """One direct look at a dependency from the suite's side (not through a server)."""

    at: float
    done: float
    ok: bool


class Prober:
    """Polls /readyz of every live server, and during an outage fault the dependency itself.

    It runs in a thread with its own event loop, so the clients' load on the suite's loop
    cannot delay a probe. The direct checks (a fresh PostgreSQL connection and SELECT 1, a
    Redis PING) say when the dependency really could not serve; /readyz is then expected to
    have said 503 only if that window was long enough for a probe to fall inside it.
    """

    def __init__(self, servers: list[Server], pg_dsn: str, redis_port: int) -> None:
        self.servers = servers
        self.pg_dsn = pg_dsn
        self.redis_port = redis_port
        self.probes: list[Probe] = []
        self.checks: list[Check] = []
        self.watching: str | None = None  # "postgres" or "redis" while an outage fault runs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    async def _main(self) -> None:
        async with httpx.AsyncClient(timeout=READYZ_WAIT) as http:
            await asyncio.gather(self._watch(), *(self._poll(http, s) for s in self.servers))

    async def _poll(self, http: httpx.AsyncClient, server: Server) -> None:
        while not self._stop.is_set():
            if server.up:
                start = time.monotonic()
                try:
                    status: int | str = (await http.get(f"{server.url}/readyz")).status_code
                except httpx.TimeoutException:
                    status = "timeout"
                except httpx.HTTPError:
                    status = "refused"
                if server.up:
                    self.probes.append(Probe(start, time.monotonic(), server.index, status))
            await asyncio.sleep(PROBE_EVERY)

    async def _watch(self) -> None:
        while not self._stop.is_set():
            target = self.watching
            if target is not None:
                start = time.monotonic()
                ok = await (self._postgres() if target == "postgres" else self._redis())
                self.checks.append(Check(start, time.monotonic(), ok))
            await asyncio.sleep(WATCH_EVERY)

    async def _postgres(self) -> bool:
        try:
            async with asyncio.timeout(WATCH_TIMEOUT):
                conn = await asyncpg.connect(self.pg_dsn)
                try:
                    return bool(await conn.fetchval("SELECT 1") == 1)
                finally:
                    await conn.close()
        except Exception:
            return False

    async def _redis(self) -> bool:
        try:
            async with asyncio.timeout(WATCH_TIMEOUT):
                reader, writer = await asyncio.open_connection("127.0.0.1", self.redis_port)
                try:
                    writer.write(b"PING\r\n")
                    return await reader.readline() == b"+PONG\r\n"
                finally:
                    writer.close()
        except Exception:
            return False

    def outage(self, since: float, until: float) -> tuple[float, float] | None:
        """The span from the first failed direct check to the end of the last, or None."""
        failed = [c for c in self.checks if since <= c.at <= until and not c.ok]
        return (failed[0].at, failed[-1].done) if failed else None

    def during(self, window: tuple[float, float]) -> list[Probe]:
        """Probes whose request overlapped the window."""
        return [p for p in self.probes if p.at <= window[1] and p.done >= window[0]]

    def write(self, path: Path) -> None:
        """The per-probe record (times relative to the first probe), one JSON object a line."""
        zero = min((p.at for p in self.probes), default=0.0)
        with path.open("w") as f:
            for p in self.probes:
                row = {"probe": p.server, "at": p.at - zero, "s": p.done - p.at, "status": p.status}
                f.write(json.dumps(row) + "\n")
            for c in self.checks:
                f.write(json.dumps({"check": c.ok, "at": c.at - zero, "s": c.done - c.at}) + "\n")

    async def all_ready(self, timeout: float) -> float | None:
        """Seconds until every server answered 200 (and was up), or None."""
        start = time.monotonic()
        async with httpx.AsyncClient(timeout=3) as http:
            while time.monotonic() - start < timeout:
                ok = True
                for server in self.servers:
                    try:
                        ok = (
                            ok
                            and server.up
                            and ((await http.get(f"{server.url}/readyz")).status_code == 200)
                        )
                    except httpx.HTTPError:
                        ok = False
                if ok:
                    return time.monotonic() - start
                await asyncio.sleep(0.2)
        return None


# --- Clients ------------------------------------------------------------------------------


class ChaosClient(Client):
    """`chat.client.Client` that keeps reconnecting through every failure a fault causes.

    The stock client (at the time of writing) gives up for good when the upgrade is answered
    with any HTTP error (a server whose database restarts answers 500), and its reader task
    dies on `InvalidMessage` (a server killed during the handshake closes the TCP connection
    before answering). Both are reported in docs/reliability.md; a real client, and this
    one, retry with backoff and give up only on 401/403.
    """

    async def _open(self) -> None:
        try:
            await super()._open()
        except InvalidStatus as exc:
            if exc.response.status_code >= 500:
                raise OSError(f"upgrade answered {exc.response.status_code}") from exc
            raise
        except InvalidHandshake as exc:
            raise OSError(f"upgrade failed: {exc!r}") from exc


@dataclass
class Ack:
    room: str
    client_id: str
    author: str
    message_id: int
    seq: int


@dataclass
class Load:
    """What the clients did and saw."""

    clients: dict[str, ChaosClient] = field(default_factory=dict)
    rooms: dict[str, list[str]] = field(default_factory=dict)
    acks: dict[str, Ack] = field(default_factory=dict)
    ack_conflicts: list[str] = field(default_factory=list)
    attempts: int = 0
    retries: int = 0
    unacked: list[str] = field(default_factory=list)
    drops: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Cluster:
    def __init__(self, plan: Plan, workdir: Path, seed: int) -> None:
        self.plan = plan
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.redis = RedisServer(workdir)
        self.db_name = f"wp_chaos_{uuid.uuid4().hex[:10]}"
        self.db_url = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{self.db_name}"
        self.servers: list[Server] = []
        self.prober = Prober(
            self.servers,
            f"postgresql://postgres@{PG_HOST}:5432/{self.db_name}",
            self.redis.port,
        )
        self.load = Load()
        self.stop_load = asyncio.Event()
        self.faults: list[dict[str, Any]] = []
        self.room_slugs = [f"chaos-{r}" for r in range(plan.rooms)]

    # -- setup and teardown ----------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "WERKPLAATS_DATABASE_URL": self.db_url,
            "WERKPLAATS_REDIS_URL": self.redis.url,
            "WERKPLAATS_REDIS_PREFIX": "chaos",
            "WERKPLAATS_SECRET_KEY": "chaos-suite-secret-key",
            "WERKPLAATS_LOG_LEVEL": "WARNING",
            "WERKPLAATS_ARGON2_TIME_COST": "1",
            "WERKPLAATS_ARGON2_MEMORY_KIB": "8192",
        }

    async def setup(self) -> None:
        await self.redis.start()
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await conn.close()
        file = self.workdir / "community.toml"
        file.write_text(community(self.plan.clients, self.plan.rooms))
        done = await asyncio.to_thread(
            subprocess.run,
            [WERKPLAATS, "load", str(file)],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"load failed: {done.stderr.decode()[-2000:]}")
        self.servers.extend(Server(i, self.env(), self.workdir) for i in range(self.plan.servers))
        for server in self.servers:
            server.start()
        await asyncio.gather(*(s.wait_healthy() for s in self.servers))

    async def teardown(self) -> None:
        for client in self.load.clients.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)
        for server in self.servers:
            server.stop(signal.SIGTERM)
        await asyncio.gather(*(s.wait_exit() for s in self.servers if s.proc))
        self.redis.kill()
        with contextlib.suppress(Exception):
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=30)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            finally:
                await conn.close()

    # -- load ------------------------------------------------------------------------------

    def live_url(self) -> str:
        up = [s for s in self.servers if s.up] or self.servers
        return self.rng.choice(up).url

    async def router(self) -> None:
        """A load balancer's job: a client whose server is down is sent to a live one."""
        while True:
            down = {s.url for s in self.servers if not s.up}
            for client in self.load.clients.values():
                if not client._connected.is_set() and client.base_url in down:
                    base = self.live_url()
                    client.base_url = base
                    client.ws_url = "ws" + base.removeprefix("http") + "/ws"
            await asyncio.sleep(0.2)

    async def connect(self, user: str, first: str) -> ChaosClient:
        """Log in and connect, trying live servers until it works (faults may be under way)."""
        base = first
        while True:
            try:
                token = await login(base, user, PASSWORD)
                client = ChaosClient(base, token)
                await client.connect()
                return client
            except Exception:
                self.load.errors["connect retried"] += 1
                await asyncio.sleep(0.5)
                base = self.live_url()

    async def subscribe(self, client: ChaosClient, room: str) -> None:
        """Subscribe from seq 0; retried from the last seq had (never twice from 0)."""
        since: int | None = 0
        while True:
            try:
                await (client.subscribe(room, since=0) if since == 0 else client.subscribe(room))
                return
            except (ConnectionError, TimeoutError):
                # The connection was lost: the client subscribes again itself when it is back
                # (a second subscribe from here would replay what the first one delivered).
                self.load.errors["subscribe left to the reconnect"] += 1
                return
            except ClientError:
                # Refused (e.g. `internal` while the database restarts): nothing is attached.
                self.load.errors["subscribe retried"] += 1
                since = None
                await asyncio.sleep(0.5)

    async def client_loop(self, index: int) -> None:
        user = f"chaos{index:02d}"
        client = await self.connect(user, self.servers[index % len(self.servers)].url)
        self.load.clients[user] = client
        rooms = self.rng.sample(self.room_slugs, 3)
        self.load.rooms[user] = rooms
        for room in rooms:
            await self.subscribe(client, room)
        number = 0
        while not self.stop_load.is_set():
            await asyncio.sleep(self.rng.uniform(0.3, 1.5))
            number += 1
            room = self.rng.choice(rooms)
            await self.send_until_acked(client, user, room, f"{user}-{number}")
            if self.rng.random() < 0.03:
                self.load.drops += 1
                await client.drop()

    async def send_until_acked(self, client: ChaosClient, user: str, room: str, cid: str) -> None:
        """Send, and resend the same client_id until acked (the server dedupes)."""
        deadline = time.monotonic() + HEAL_TIMEOUT * 2
        body = f"chaos {cid} in {room}"
        while time.monotonic() < deadline:
            self.load.attempts += 1
            try:
                ack = await client.send(room, body, client_id=cid, timeout=10)
            except ClientError as exc:
                self.load.errors[exc.code] += 1
                await asyncio.sleep(exc.retry_after or 0.5)
            except (TimeoutError, ConnectionError) as exc:
                self.load.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.5)
            else:
                self.record_ack(Ack(room, cid, user, int(ack["message_id"]), int(ack["seq"])))
                return
            self.load.retries += 1
        self.load.unacked.append(cid)

    def record_ack(self, ack: Ack) -> None:
        seen = self.load.acks.get(ack.client_id)
        if seen is not None and (seen.message_id, seen.seq) != (ack.message_id, ack.seq):
            self.load.ack_conflicts.append(ack.client_id)
        self.load.acks[ack.client_id] = ack

    # -- faults ----------------------------------------------------------------------------

    async def inject(self, kind: str) -> None:
        start = time.monotonic()
        detail = ""
        if kind in OUTAGES:
            self.prober.watching = "postgres" if kind == "pg_restart" else "redis"
        if kind in ("kill9", "term", "kill9_two"):
            count = 2 if kind == "kill9_two" else 1
            victims = self.rng.sample([s for s in self.servers if s.up], count)
            for victim in victims:
                victim.stop(signal.SIGTERM if kind == "term" else signal.SIGKILL)
            await asyncio.gather(*(v.wait_exit() for v in victims))
            await asyncio.sleep(1.0)
            for victim in victims:
                victim.start()
            await asyncio.gather(*(v.wait_healthy() for v in victims))
            detail = "server " + ",".join(str(v.index) for v in victims)
        elif kind == "redis_restart":
            self.redis.kill()
            await asyncio.sleep(2.0)
            await self.redis.start()
        elif kind == "redis_pause":
            self.redis.signal(signal.SIGSTOP)
            await asyncio.sleep(self.plan.redis_pause)
            self.redis.signal(signal.SIGCONT)
            detail = f"{self.plan.redis_pause:.0f} s"
        elif kind == "pg_restart":
            done = await asyncio.to_thread(
                subprocess.run, PG_RESTART, capture_output=True, timeout=120
            )
            detail = "ok" if done.returncode == 0 else done.stderr.decode()[-200:]
        else:
            raise ValueError(kind)
        end = time.monotonic()
        healed = await self.prober.all_ready(HEAL_TIMEOUT)
        self.prober.watching = None
        fault: dict[str, Any] = {
            "kind": kind,
            "detail": detail,
            "seconds": round(end - start, 1),
            "healed_after": None if healed is None else round(healed, 1),
        }
        if kind in OUTAGES:
            # The window the suite itself saw the dependency fail in, and what /readyz
            # answered to the probes that overlapped it.
            window = self.prober.outage(start, time.monotonic())
            probes = self.prober.during(window) if window else []
            lasted = window[1] - window[0] if window else 0.0
            fault |= {
                "outage": round(lasted, 2),
                "readyz": dict(Counter(str(p.status) for p in probes)),
                "saw_503": any(p.status == 503 for p in probes),
                "must_show": lasted > MUST_SHOW,
            }
        else:
            probes = [p for p in self.prober.probes if start <= p.at <= end]
            fault["readyz"] = dict(Counter(str(p.status) for p in probes))
        self.faults.append(fault)

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        await self.setup()
        self.prober.start()
        tasks = [asyncio.create_task(self.router())]
        loops = [asyncio.create_task(self.client_loop(i)) for i in range(self.plan.clients)]
        try:
            await asyncio.sleep(self.plan.warmup)
            for kind in self.plan.faults:
                await self.inject(kind)
                await asyncio.sleep(self.plan.gap)
            self.stop_load.set()
            done, pending = await asyncio.wait(loops, timeout=HEAL_TIMEOUT * 2)
            for task in pending:
                task.cancel()
            for task in done:
                if task.exception() is not None:
                    self.load.errors[f"client crashed: {task.exception()!r}"[:120]] += 1
            report = await self.check()
        finally:
            for task in tasks + loops:
                task.cancel()
            self.prober.stop()
            self.prober.write(self.workdir / "probes.jsonl")
            await self.teardown()
        report["seconds"] = round(time.monotonic() - started, 1)
        return report

    # -- the invariants --------------------------------------------------------------------

    async def database(self) -> tuple[dict[str, list[tuple[int, str, int | None]]], dict[str, Any]]:
        dsn = f"postgresql://postgres@{PG_HOST}:5432/{self.db_name}"
        conn = await asyncpg.connect(dsn, timeout=30)
        try:
            rows = await conn.fetch(
                "SELECT r.slug, e.seq, e.type, e.message_id FROM events e "
                "JOIN rooms r ON r.id = e.room_id WHERE r.slug LIKE 'chaos-%' "
                "ORDER BY r.slug, e.seq"
            )
            messages = await conn.fetch(
                "SELECT r.slug, m.client_id, m.id, m.seq, u.username FROM messages m "
                "JOIN rooms r ON r.id = m.room_id JOIN users u ON u.id = m.author_id"
            )
            last = dict(
                await conn.fetch("SELECT slug, last_seq FROM rooms WHERE slug LIKE 'chaos-%'")
            )
        finally:
            await conn.close()
        events: dict[str, list[tuple[int, str, int | None]]] = defaultdict(list)
        for row in rows:
            events[row["slug"]].append((row["seq"], row["type"], row["message_id"]))
        by_cid: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
        for m in messages:
            by_cid[(m["slug"], m["client_id"])].append((m["id"], m["seq"], m["username"]))
        return events, {"messages": by_cid, "last_seq": last}

    async def converge(self, last: dict[str, int]) -> bool:
        """Wait until every client has every event of its rooms."""
        deadline = time.monotonic() + self.plan.converge
        while time.monotonic() < deadline:
            behind = [
                (user, room)
                for user, client in self.load.clients.items()
                for room in self.load.rooms.get(user, [])
                if client.last_seq.get(room, 0) < last.get(room, 0)
            ]
            if not behind:
                return True
            await asyncio.sleep(0.2)
        return False

    @staticmethod
    def diagnose(client: ChaosClient) -> str:
        runner = client._runner
        state = "running"
        if runner is not None and runner.done():
            state = "cancelled" if runner.cancelled() else f"ended {runner.exception()!r}"
        return (
            f"connected={client._connected.is_set()} closing={client._closing} "
            f"reader={state} closes={client.close_codes[-3:]} connects={client.connects}"
        )[:200]

    async def check(self) -> dict[str, Any]:
        events, extra = await self.database()
        last: dict[str, int] = extra["last_seq"]
        converged = await self.converge(last)
        inv: dict[str, tuple[bool, str]] = {}

        missing, twice, wrong = [], [], []
        for cid, ack in self.load.acks.items():
            rows = extra["messages"].get((ack.room, cid), [])
            if not rows:
                missing.append(cid)
            elif len(rows) > 1:
                twice.append(cid)
            elif rows[0][:2] != (ack.message_id, ack.seq):
                wrong.append(cid)
        inv["every acked message stored exactly once"] = (
            not (missing or twice or wrong),
            f"{len(self.load.acks)} acked; missing {len(missing)}, twice {len(twice)}, "
            f"other id/seq {len(wrong)}",
        )
        inv["resent client_id answered with the original ack"] = (
            not self.load.ack_conflicts,
            f"{self.load.retries} resends by the suite (more by the client after reconnects); "
            f"{len(self.load.ack_conflicts)} conflicting acks",
        )
        broken = [
            room
            for room in self.room_slugs
            if [e[0] for e in events.get(room, [])] != list(range(1, last.get(room, 0) + 1))
        ]
        total = sum(len(v) for v in events.values())
        inv["seqs contiguous per room (1..last_seq)"] = (
            not broken,
            f"{total} events in {len(self.room_slugs)} rooms; broken: {broken or 'none'}",
        )
        differ = []
        compared = 0
        for user, client in self.load.clients.items():
            for room in self.load.rooms.get(user, []):
                seen = [
                    (e["seq"], e["type"], e.get("message_id")) for e in client.events.get(room, [])
                ]
                compared += 1
                if seen != events.get(room, []):
                    differ.append(f"{user}/{room}")
        for name in sorted({d.split("/")[0] for d in differ})[:3]:
            self.load.errors[f"behind: {name} {self.diagnose(self.load.clients[name])}"] += 1
        inv["every client's view equals the database"] = (
            converged and not differ,
            f"{compared} client-room views; converged {converged}; differ {len(differ)}"
            + (f" e.g. {differ[:3]}" if differ else ""),
        )
        gaps = sum(len(c.gaps) for c in self.load.clients.values())
        dups = sum(len(c.duplicates) for c in self.load.clients.values())
        worst = sorted(
            ((len(c.duplicates), u) for u, c in self.load.clients.items() if c.duplicates),
            reverse=True,
        )[:3]
        examples = [
            f"{u}: {n} in {sorted({d['room'] for d in self.load.clients[u].duplicates})} "
            f"seqs {[d['seq'] for d in self.load.clients[u].duplicates][:6]} "
            f"after {self.load.clients[u].connects} connects"
            for n, u in worst
        ]
        inv["no client saw a gap or a duplicate"] = (
            gaps == 0 and dups == 0,
            f"gaps {gaps}, duplicates {dups}" + (f"; {'; '.join(examples)}" if examples else ""),
        )
        outages = [f for f in self.faults if f["kind"] in OUTAGES]
        must = [f for f in outages if f["must_show"]]
        short = [f for f in outages if not f["must_show"]]
        inv[f"/readyz 503 during every outage over {MUST_SHOW:.1f} s"] = (
            all(f["saw_503"] for f in must),
            f"{sum(f['saw_503'] for f in must)} of {len(must)}; shorter (not required): "
            f"{len(short)}, of them with a 503 {sum(f['saw_503'] for f in short)}",
        )
        unhealed = [f["kind"] for f in self.faults if f["healed_after"] is None]
        inv["/readyz 200 on every server after each fault"] = (
            not unhealed,
            f"{len(self.faults) - len(unhealed)} of {len(self.faults)} healed"
            + (f"; not: {unhealed}" if unhealed else ""),
        )
        died = [s.index for s in self.servers if s.died]
        inv["no server died that was not killed"] = (not died, f"died: {died or 'none'}")
        inv["every send acknowledged in the end"] = (
            not self.load.unacked,
            f"{self.load.attempts} attempts; given up {len(self.load.unacked)}",
        )
        reconnects = sum(max(0, c.connects - 1) for c in self.load.clients.values())
        return {
            "plan": self.plan.name,
            "clients": len(self.load.clients),
            "servers": len(self.servers),
            "rooms": len(self.room_slugs),
            "faults": self.faults,
            "invariants": {k: {"held": v[0], "detail": v[1]} for k, v in inv.items()},
            "acked": len(self.load.acks),
            "events": total,
            "reconnects": reconnects,
            "client_drops": self.load.drops,
            "send_errors": dict(self.load.errors),
        }


# --- Output -------------------------------------------------------------------------------


def table(report: dict[str, Any]) -> str:
    lines = [
        f"chaos ({report['plan']}): {report['servers']} servers, {report['clients']} clients, "
        f"{report['rooms']} rooms, {report['seconds']} s; {report['acked']} messages acked, "
        f"{report['events']} events, {report['reconnects']} client reconnects "
        f"({report['client_drops']} deliberate drops)",
        "",
        f"{'#':>3}  {'fault':<14} {'detail':<12} {'took s':>7} {'healed s':>9} "
        f"{'outage s':>9}  readyz during (the outage, else the fault)",
    ]
    for i, f in enumerate(report["faults"], 1):
        healed = "NEVER" if f["healed_after"] is None else f"{f['healed_after']:.1f}"
        outage = f"{f['outage']:.2f}" if "outage" in f else "-"
        during = ", ".join(f"{k}x{v}" for k, v in sorted(f["readyz"].items()))
        lines.append(
            f"{i:>3}  {f['kind']:<14} {f['detail'][:12]:<12} {f['seconds']:>7.1f} "
            f"{healed:>9} {outage:>9}  {during}"
        )
    kinds = Counter(f["kind"] for f in report["faults"])
    lines += ["", "faults injected: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))]
    lines += [f"total: {len(report['faults'])}", "", f"{'invariant':<52} held   detail"]
    for name, result in report["invariants"].items():
        mark = "yes" if result["held"] else "NO"
        lines.append(f"{name:<52} {mark:<6} {result['detail']}")
    if report["send_errors"]:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(report["send_errors"].items()))
        lines += ["", f"send refusals and timeouts (then resent): {errors}"]
    return "\n".join(lines)


async def run(plan: Plan, workdir: Path, seed: int = 1) -> dict[str, Any]:
    """Run the plan; the report (see `table`)."""
    return await Cluster(plan, workdir, seed).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="<= 60 s, no PostgreSQL restart")
    parser.add_argument(
        "--no-pg-restart",
        action="store_true",
        help="the full plan without restarting PostgreSQL (where others use the cluster)",
    )
    parser.add_argument(
        "--faults",
        help="comma-separated faults instead of the plan's (kill9, kill9_two, term, "
        "redis_restart, redis_pause, pg_restart)",
    )
    parser.add_argument("--clients", type=int, help="instead of the plan's")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the report here as JSON")
    parser.add_argument("--workdir", type=Path, help="logs of the servers and Redis")
    args = parser.parse_args(argv)
    plan = SHORT if args.short else FULL
    if args.no_pg_restart:
        plan = replace(plan, faults=tuple(f for f in plan.faults if f != "pg_restart"))
    if args.faults:
        plan = replace(plan, name="custom", faults=tuple(args.faults.split(",")))
    if args.clients:
        plan = replace(plan, clients=args.clients)
    workdir = args.workdir or Path(f"/tmp/werkplaats-chaos-{os.getpid()}")
    workdir.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(run(plan, workdir, args.seed))
    print(table(report))
    print(f"\nlogs: {workdir}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    held = all(r["held"] for r in report["invariants"].values())
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())

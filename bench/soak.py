"""A working day compressed into DURATION, on the several-host topology (tests/net/topology.py).

    python -m bench.soak --duration 30m        # `make soak` (DURATION=5m for a quick look)

300 users over 15 area rooms and 3 theme rooms, through nginx (TLS) to two application hosts
of two workers each, on their own PostgreSQL and Redis. The day, as fractions of DURATION:

    0.00-0.10  the login wave: every user logs in over HTTP, opens /ws, subscribes its rooms
    all day    chatter (area and theme rooms), searches, uploads (scanned by clamd), and
               single clients whose connection drops and who resume where they were
    0.20       a third of the users register for the meeting, all at once (the invitation
               went out): the database pools reach their high-water mark in the warm-up
    0.25, 0.65 a fifth of the clients lose their connection at once (a Wi-Fi hiccup): the
               first in the warm-up, where PostgreSQL's backends first open the files of
               the catch-up's relations; the second shows that a storm leaves nothing behind
    0.45-0.50  the meeting: a burst of posts in its theme room

Each DURATION/30 (each minute at 30m) it samples RSS and open descriptors of every server
process (/proc, workers included), the asyncio tasks and WebSocket connections of each
application host (/metrics), Redis's connected_clients and PostgreSQL's connections
(pg_stat_activity). After the day it checks that the samples are flat after the warm-up
(the median of the last third against the middle third's, within TOLERANCE) and the
message invariants: every acked message stored once with its acked id and seq, every
room's seqs contiguous, every client caught up and its view equal to the database.

It writes samples.csv, samples.json, soak.png and soak.md to --out; a run of 30 minutes or
more also writes docs/soak.png and the generated part of docs/reliability.md's Soak section.
Exits 1 when something grew or an invariant broke. Needs root (network namespaces).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis
from websockets.exceptions import InvalidHandshake

from chat.client import Client, ClientError
from tests.files.conftest import PDF
from tests.net.load import acked_breaks, behind, client_breaks, database, seq_breaks
from tests.net.topology import PASSWORD, Topology, available
from tests.ops.tls import client_context

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "reliability.md"
PLOT = ROOT / "docs" / "soak.png"
BEGIN, END = "<!-- soak:begin -->", "<!-- soak:end -->"
USERS, AREAS, THEMES = 300, 15, 3
SAMPLES = 30  # one a minute at 30m
WARM_UP = 1 / 3  # the first third: logins, the first backlogs, caches, pools filling
METRICS_TOKEN = "soak-metrics-token-0123456789"
MEETING = "soak-bijeenkomst"
WORDS = (
    "dijkversterking stikstof waterpeil veenweide zonneweide grondwater natuurbeheer "
    "bodemdaling windpark netcongestie woningbouw subsidie inspraak vergunning "
    "landbouw recreatie fietspad waterberging droogte biodiversiteit"
).split()
LAYERS = ("gemeente", "waterschap", "provincie", "rijk", "overig")
HOSTS = ("app1", "app2", "nginx", "redis", "postgres")
# PostgreSQL's backends map the shared buffers: each one's RSS counts the pages of it that
# backend touched, and the PSS of all grows as the buffers fill with the growing database,
# both with no leak. Its private (anonymous) memory is what is judged; RSS and PSS are shown.
SHOWN_ONLY = {"postgres.rss_mib", "postgres.pss_mib"}

# Flat: the last third's median at most this much above the middle third's (relative, plus
# an absolute slack for small counts and the allocator's steps).
TOLERANCE: dict[str, tuple[float, float]] = {
    "rss_mib": (0.10, 8.0),
    "pss_mib": (0.10, 8.0),
    "anon_mib": (0.10, 8.0),
    "fds": (0.10, 8.0),
    "tasks": (0.10, 20.0),
    "ws": (0.05, 5.0),
    "redis_clients": (0.10, 2.0),
    "pg_connections": (0.10, 2.0),
}


def seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30m, 90s, 1h)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def area(u: int) -> str:
    return f"gebied-{u % AREAS:02d}"


def theme(u: int) -> str:
    return f"thema-{u % THEMES}"


def username(u: int) -> str:
    return f"soak{u:03d}"


def community() -> str:
    """The TOML for `werkplaats load`: the areas, themes, one meeting a month ahead, users."""
    meeting_day = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    parts = [f'[[area]]\nslug = "{area(a)}"\nname = "Gebied {a:02d}"\n' for a in range(AREAS)]
    parts += [f'[[theme]]\nslug = "{theme(t)}"\nname = "Thema {t}"\n' for t in range(THEMES)]
    parts.append(
        f'[[meeting]]\nslug = "{MEETING}"\ntitle = "Bijeenkomst"\ntheme = "{theme(0)}"\n'
        f'date = {meeting_day}\nplace = "Tijnje"\n'
    )
    parts += [
        f'[[user]]\nusername = "{username(u)}"\ndisplay_name = "Deelnemer {u}"\n'
        f'organisation = "Organisatie {u % 40}"\nlayer = "{LAYERS[u % len(LAYERS)]}"\n'
        f'areas = ["{area(u)}"]\npassword = "{PASSWORD}"\n'
        for u in range(USERS)
    ]
    return "\n".join(parts)


def clamd_address() -> tuple[str, int] | None:
    """The root namespace's clamd, when it answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", 3310), timeout=2) as s:
            s.sendall(b"zPING\0")
            return ("127.0.0.1", 3310) if s.recv(16).startswith(b"PONG") else None
    except OSError:
        return None


# -- sampling -------------------------------------------------------------------------------


def children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                kids[ppid].append(int(entry))
    return kids


def tree(pid: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def memory_and_fds(pids: list[int]) -> tuple[float, float, float, int]:
    """RSS, PSS and anonymous memory summed (MiB), and open descriptors, over the processes."""
    rss, pss, anon, fds = 0, 0, 0, 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Anonymous:"):
                    anon += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{pid}/fd"))
    return rss / 1024, pss / 1024, anon / 1024, fds


def gauge(text: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else float("nan")


# -- the day --------------------------------------------------------------------------------


@dataclass
class Day:
    topo: Topology
    duration: float
    seed: int = 1
    clients: dict[int, Client] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[dict[str, Any]] = field(default_factory=list)
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    uploads: bool = True
    start: float = 0.0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.tls = client_context(self.topo.cert)
        self.http = httpx.AsyncClient(
            verify=self.tls, timeout=60, limits=httpx.Limits(max_connections=40)
        )

    def at(self, fraction: float) -> float:
        return self.start + fraction * self.duration

    async def until(self, fraction: float) -> None:
        await asyncio.sleep(max(0.0, self.at(fraction) - time.monotonic()))

    def rooms(self, u: int) -> list[str]:
        return [area(u), theme(u)]

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(self.guarded(coro))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def guarded(self, coro: Any) -> None:
        """An action that failed is counted (and its first few shown), not left unseen."""
        try:
            await coro
        except Exception as exc:
            name = f"failed {coro.__name__} {type(exc).__name__}"
            self.counts[name] += 1
            if self.counts[name] <= 3:
                print(f"{name}: {exc!r}"[:300], flush=True)

    def headers(self, u: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[u]}", "Origin": self.topo.base}

    # -- the users' actions ---------------------------------------------------------------

    async def arrive(self, u: int) -> None:
        """Log in over HTTP, open /ws through nginx, subscribe the user's rooms from the start."""
        while True:
            r = await self.http.post(
                f"{self.topo.base}/api/session",
                json={"username": username(u), "password": PASSWORD},
                headers={"Origin": self.topo.base},
            )
            if r.status_code not in (429, 503):
                break
            # Logins queue behind a gate (web/admission.py): back when the answer says.
            self.counts[f"login {r.status_code}"] += 1
            after = float(r.headers.get("retry-after", "1"))
            await asyncio.sleep(after * self.rng.uniform(0.5, 1.5))
        r.raise_for_status()
        self.tokens[u] = r.json()["token"]
        client = Client(self.topo.base, self.tokens[u], ssl=self.tls, keepalive=20)
        for attempt in range(10):
            try:
                await client.connect()
                break
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                # A busy machine: the handshake timed out; a browser tries again too.
                self.counts["connect retried"] += 1
                if attempt == 9:
                    raise ConnectionError("no /ws after 10 attempts") from exc
                await asyncio.sleep(self.rng.uniform(1, 3))
        for room in self.rooms(u):
            await client.subscribe(room, since=0, timeout=120)
        self.clients[u] = client
        self.counts["logins"] += 1

    async def send(self, u: int, room: str) -> None:
        """One message, resent with its client_id until acked (the server settles repeats)."""
        self.counts["sent"] += 1
        n = self.counts["sent"]
        cid, body = f"{username(u)}-{n}", " ".join(self.rng.sample(WORDS, 3)) + f" {n}"
        while True:
            try:
                ack = await self.clients[u].send(room, body, client_id=cid, timeout=60)
                break
            except (ClientError, TimeoutError, ConnectionError):
                self.counts["resent"] += 1
                await asyncio.sleep(1.0)
        if cid in self.acks and self.acks[cid]["message_id"] != ack["message_id"]:
            self.conflicts.append(cid)
        self.acks[cid] = {"room": room, "message_id": ack["message_id"], "seq": ack["seq"]}

    async def search(self, u: int) -> None:
        params = {"q": self.rng.choice(WORDS)}
        if self.rng.random() < 0.5:
            params["room"] = self.rng.choice(self.rooms(u))
        r = await self.http.get(
            f"{self.topo.base}/api/search", params=params, headers=self.headers(u)
        )
        self.counts[f"search {r.status_code}"] += 1

    async def upload(self, u: int) -> None:
        name = f"notitie-{self.counts['upload 201']}.pdf"
        r = await self.http.post(
            f"{self.topo.base}/api/rooms/{area(u)}/files",
            files={"file": (name, PDF, "application/pdf")},
            headers=self.headers(u),
        )
        self.counts[f"upload {r.status_code}"] += 1
        if r.status_code == 201:
            got = await self.http.get(
                f"{self.topo.base}/api/files/{r.json()['file']['id']}", headers=self.headers(u)
            )
            self.counts[f"download {got.status_code}"] += 1

    async def register(self, u: int) -> None:
        r = await self.http.put(
            f"{self.topo.base}/api/meetings/{MEETING}/registration",
            json={"status": "going"},
            headers=self.headers(u),
        )
        self.counts[f"register {r.status_code}"] += 1

    async def drop(self, u: int) -> None:
        """The connection is lost without a close; the client reconnects and resumes."""
        await self.clients[u].drop()
        self.counts["drops"] += 1

    # -- the schedule ---------------------------------------------------------------------

    async def every(self, period: float, act: Any, until: float = 1.0) -> None:
        """`act()` about every `period` seconds (spread), as its own task, until `until`."""
        while time.monotonic() < self.at(until):
            await asyncio.sleep(self.rng.expovariate(1 / period))
            if self.clients and time.monotonic() < self.at(until):
                self.spawn(act())

    def anyone(self) -> int:
        return self.rng.choice(list(self.clients))

    async def login_wave(self) -> None:
        order = list(range(USERS))
        self.rng.shuffle(order)
        spacing = 0.10 * self.duration / USERS
        for u in order:
            self.spawn(self.arrive(u))
            await asyncio.sleep(spacing)

    async def meeting(self) -> None:
        await self.until(0.20)
        for u in self.rng.sample(range(USERS), USERS // 3):
            if u in self.clients:
                self.spawn(self.register(u))
        await self.until(0.45)
        # The meeting: its theme room busy, a post about every 0.2 s for 5% of the day.
        present = [u for u in self.clients if theme(u) == theme(0)]
        while time.monotonic() < self.at(0.50):
            self.spawn(self.send(self.rng.choice(present), theme(0)))
            await asyncio.sleep(0.2)

    async def hiccup(self) -> None:
        for when in (0.25, 0.65):
            await self.until(when)
            for u in self.rng.sample(list(self.clients), len(self.clients) // 5):
                self.spawn(self.drop(u))

    async def chatter(self) -> None:
        u = self.anyone()
        await self.send(u, area(u) if self.rng.random() < 0.7 else theme(u))

    async def sampler(self) -> None:
        period = self.duration / SAMPLES
        redis = aioredis.Redis(host=self.topo.ip("redis"), port=6379)
        pg = await asyncpg.connect(self.topo.db_dsn, timeout=30)
        metrics = httpx.AsyncClient(
            timeout=30, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        try:
            for k in range(SAMPLES + 1):
                await asyncio.sleep(max(0.0, self.start + k * period - time.monotonic()))
                self.samples.append(await self.sample(redis, pg, metrics))
        finally:
            await redis.aclose()
            await pg.close()
            await metrics.aclose()

    async def sample(
        self, redis: aioredis.Redis, pg: asyncpg.Connection, metrics: httpx.AsyncClient
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "minute": round((time.monotonic() - self.start) / 60, 2),
            "load1": os.getloadavg()[0],
            "acked": len(self.acks),
            "clients": len(self.clients),
        }
        kids = children()
        for host in HOSTS:
            rss, pss, anon, fds = memory_and_fds(tree(self.topo.processes[host].proc.pid, kids))
            row[f"{host}.rss_mib"], row[f"{host}.fds"] = round(rss, 1), fds
            if host == "postgres":
                row[f"{host}.pss_mib"] = round(pss, 1)
                row[f"{host}.anon_mib"] = round(anon, 1)
        for app in ("app1", "app2"):
            row[f"{app}.tasks"] = row[f"{app}.ws"] = float("nan")
            for _ in range(3):
                try:
                    r = await metrics.get(f"{self.topo.app_url(app)}/metrics")
                except httpx.HTTPError as exc:
                    self.counts[f"scrape {type(exc).__name__}"] += 1
                    continue
                if r.status_code == 200:
                    row[f"{app}.tasks"] = gauge(r.text, "werkplaats_asyncio_tasks")
                    row[f"{app}.ws"] = gauge(r.text, "werkplaats_ws_connections")
                    break
                self.counts[f"scrape {r.status_code}"] += 1
        info = await redis.info("clients")
        row["redis_clients"] = int(info["connected_clients"]) - 1  # not the sampler's own
        row["pg_connections"] = int(
            await pg.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        )
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        return row

    async def run(self) -> None:
        self.start = time.monotonic()
        sampler = asyncio.create_task(self.sampler())
        # Rates per second at any size of the day: the same load, compressed or not.
        scheduled = [
            self.login_wave(),
            self.meeting(),
            self.hiccup(),
            self.every(0.5, self.chatter),
            self.every(3.0, lambda: self.search(self.anyone())),
            self.every(10.0, lambda: self.drop(self.anyone())),
        ]
        if self.uploads:
            scheduled.append(self.every(15.0, lambda: self.upload(self.anyone())))
        await asyncio.gather(*scheduled)
        await sampler
        # The day is over: what is still in flight settles (sends are resent until acked).
        async with asyncio.timeout(300):
            while self.in_flight:
                await asyncio.gather(*list(self.in_flight), return_exceptions=True)

    async def close(self) -> None:
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)
        await self.http.aclose()


# -- the checks -----------------------------------------------------------------------------


async def invariants(day: Day) -> list[str]:
    """What broke of: acked once with its id and seq, seqs contiguous, clients equal to the db."""
    events, by_cid, last = await database(day.topo, rooms="%")
    views = {username(u): (c, day.rooms(u)) for u, c in day.clients.items()}
    deadline = time.monotonic() + 120
    while behind(views, last) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    broken = acked_breaks(day.acks, by_cid, day.conflicts) + seq_breaks(events, last, events)
    if late := behind(views, last):
        broken.append(f"{len(late)} subscriptions not caught up after 120 s: {late[:5]}")
    return broken + client_breaks(views, events)


def series(samples: list[dict[str, Any]]) -> dict[str, tuple[str, list[float]]]:
    """Every sampled quantity by column name, with its kind (a key of TOLERANCE)."""
    out: dict[str, tuple[str, list[float]]] = {}
    for key in samples[0]:
        kind = key.split(".")[-1]
        if kind in TOLERANCE and key not in SHOWN_ONLY:
            out[key] = (kind, [float(s[key]) for s in samples])
    return out


def flatness(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per quantity: the middle and last thirds' medians, and whether the last is within."""
    n = len(samples)
    middle, last = samples[n // 3 : 2 * n // 3], samples[2 * n // 3 :]
    verdicts = []
    for key, (kind, _) in series(samples).items():
        mid = statistics.median(float(s[key]) for s in middle)
        end = statistics.median(float(s[key]) for s in last)
        rel, slack = TOLERANCE[kind]
        verdicts.append({
            "quantity": key,
            "warm-up end": float(samples[n // 3 - 1][key]),
            "middle": mid,
            "last": end,
            "max": max(float(s[key]) for s in samples[n // 3 :]),
            "allowed": mid * (1 + rel) + slack,
            "flat": end <= mid * (1 + rel) + slack,
        })  # fmt: skip
    return verdicts


def plot(samples: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s["minute"] for s in samples]
    fig, axes = plt.subplots(2, 4, figsize=(13, 5.6), sharex=True)
    apps, services = ("app1", "app2"), ("nginx", "redis", "postgres")
    # The application hosts apart from the services: their scales differ tenfold.
    panels = [
        ("app hosts: RSS (MiB)", "rss_mib", apps),
        ("app hosts: open descriptors", "fds", apps),
        ("app hosts: asyncio tasks", "tasks", apps),
        ("app hosts: WebSocket connections", "ws", apps),
        ("nginx, Redis: RSS; PostgreSQL: private (MiB)", "rss_mib", services),
        ("nginx, Redis, PostgreSQL: descriptors", "fds", services),
        ("Redis connected clients", "redis_clients", ("",)),
        ("PostgreSQL connections", "pg_connections", ("",)),
    ]
    warm = samples[len(samples) // 3 - 1]["minute"]
    for ax, (title, kind, hosts) in zip(axes.flat, panels, strict=True):
        for host in hosts:
            key = f"{host}.{kind}" if host else kind
            key = "postgres.anon_mib" if key == "postgres.rss_mib" else key
            ax.plot(minutes, [s[key] for s in samples], marker=".", label=host or None)
        ax.axvspan(0, warm, color="0.9")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_ylim(bottom=0)
        if hosts[0]:
            ax.legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("minute of the day (grey: warm-up)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def markdown(day: Day, verdicts: list[dict[str, Any]], broken: list[str], label: str) -> str:
    loads = [s["load1"] for s in day.samples]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(day.counts.items()))
    lines = [
        f"Run of {label} on {dt.date.today().isoformat()}: {len(day.acks)} messages acked, "
        f"{sum(max(0, c.connects - 1) for c in day.clients.values())} client reconnects; "
        f"{counts}. Load average (1 min) {min(loads):.1f}-{max(loads):.1f} on "
        f"{os.cpu_count()} cores, shared with other work.",
        "",
        "| quantity | end of warm-up | middle third (median) | last third (median) "
        "| max after warm-up | allowed | flat |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for v in verdicts:
        lines.append(
            f"| {v['quantity']} | {v['warm-up end']:.1f} | {v['middle']:.1f} | {v['last']:.1f} "
            f"| {v['max']:.1f} | {v['allowed']:.1f} | {'yes' if v['flat'] else '**no**'} |"
        )
    lines += ["", "Invariants: " + ("every one held." if not broken else "; ".join(broken))]
    keys = ["minute", "load1", "clients", "acked", *(f"{h}.rss_mib" for h in HOSTS)]
    keys += ["postgres.pss_mib", "postgres.anon_mib"]
    keys += [f"{h}.fds" for h in HOSTS]
    keys += ["app1.tasks", "app2.tasks", "app1.ws", "app2.ws", "redis_clients", "pg_connections"]
    short = {"rss_mib": "RSS", "pss_mib": "PSS", "anon_mib": "private"}
    short |= {"redis_clients": "redis", "pg_connections": "pg"}
    heads = [".".join(short.get(p, p) for p in k.split(".")) for k in keys]
    lines += ["", "<details><summary>Every sample</summary>", "",
              "| " + " | ".join(heads) + " |", "|" + "---:|" * len(keys)]  # fmt: skip
    for s in day.samples:
        lines.append("| " + " | ".join(f"{s[k]:g}" for k in keys) + " |")
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def write_docs(section: str) -> None:
    text = DOCS.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOCS.write_text(text[:start] + "\n" + section + text[end:])


async def soak(duration: float, out: Path, seed: int) -> int:
    clamd = clamd_address()
    workdir = Path(tempfile.mkdtemp(prefix="werkplaats-soak-"))
    topo = Topology(
        workdir,
        users=USERS,
        community_toml=community(),
        clamd=clamd,
        settings={
            "WERKPLAATS_METRICS_TOKEN": METRICS_TOKEN,
            "WERKPLAATS_FILES_DIR": str(workdir / "files"),
            "WERKPLAATS_FILES_SCAN": "true" if clamd else "false",
        },
    )
    await asyncio.to_thread(topo.start)
    day = Day(topo, duration, seed)
    day.uploads = clamd is not None
    if not day.uploads:
        print("clamd does not answer on 127.0.0.1:3310: the day has no uploads", flush=True)
    try:
        await day.run()
        broken = await invariants(day)
    finally:
        await day.close()
        await asyncio.to_thread(topo.stop)
    verdicts = flatness(day.samples)
    label = f"{duration / 60:g} minutes"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "samples.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(day.samples[0]))
        writer.writeheader()
        writer.writerows(day.samples)
    (out / "samples.json").write_text(json.dumps(
        {"duration_s": duration, "counts": day.counts, "samples": day.samples,
         "flatness": verdicts, "broken": broken}, indent=1))  # fmt: skip
    plot(day.samples, out / "soak.png")
    section = markdown(day, verdicts, broken, label)
    (out / "soak.md").write_text(section)
    print(section)
    if duration >= 30 * 60:
        plot(day.samples, PLOT)
        write_docs(section)
    grew = [v["quantity"] for v in verdicts if not v["flat"]]
    if grew:
        print(f"not flat after the warm-up: {', '.join(grew)}", file=sys.stderr)
    if broken:
        print("invariants broken:\n  " + "\n  ".join(broken), file=sys.stderr)
    return 1 if grew or broken else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=seconds, default=seconds("30m"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/werkplaats-soak"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--replot", action="store_true", help="only draw --out's samples.json again (to --out)"
    )
    args = parser.parse_args(argv)
    if args.replot:
        plot(json.loads((args.out / "samples.json").read_text())["samples"], args.out / "soak.png")
        return 0
    if (why := available()) is not None:
        print(f"the topology cannot be built here: {why}", file=sys.stderr)
        return 2
    return asyncio.run(soak(args.duration, args.out, args.seed))


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: start everything on loopback, run W1–W7 with repeats, write docs/performance.md.

    .venv/bin/python -m bench.run                 # quick sizes (a few minutes)
    FULL=1 .venv/bin/python -m bench.run          # the issue's full sizes
    .venv/bin/python -m bench.run --only W3 --targets ours-sqlite,s --repeats 1 --no-doc

Targets: ours-sqlite, ours-pg (werkplaats serve), u (raw websockets), p (python-socketio
with Redis), s (matrix-synapse on SQLite). Each workload runs against the targets it
applies to; the raw results go to bench/results/<stamp>/results.json, the summary into the
bench section of docs/performance.md (see bench/report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import report
from bench import servers as sv
from bench.stalled import Stalled

# Descriptors W6 leaves to a process besides its connections (database files, log, epoll…).
W6_SPARE_FDS = 200

QUICK = {
    "repeats": 3,
    "w1_repeats": 2,
    "w5_herd_repeats": 2,
    "w6_repeats": 1,
    "users": 1100,
    "w1_subscribers": 500,
    "w1_senders": 16,
    "w1_rates": [25, 50, 100, 200, 400, 800],
    "w1_step_s": 3,
    # Multiples of W1's sustainable rate run after its first repeat (empty: none), each on
    # fresh connections for this long, beside this share of the subscribers again as
    # stalled readers (they stop reading once subscribed: whom the overload policy sheds).
    "w1_overload": [1.5, 2.0],
    "w1_overload_s": 30,
    "w1_slow_share": 0.1,
    # W1-capped: the server held to this share of one core, with its own rate ladder.
    "w1_cap_share": 0.3,
    "w1_cap_rates": [5, 10, 20, 40, 80, 160],
    "w2_rooms": 50,
    "w2_members": 20,
    "w2_rate": 200,
    "w2_s": 6,
    "w3_s": 5,
    "w4_connections": 200,
    "w4_window": 2,
    "w4_s": 5,
    "w4_s_concurrency": 16,
    "w5_repeats": 20,
    "w5_herd": 1000,
    "w6_connections": 10_000,
    "w7_subscribers": 500,
    "w7_rate": 40,
    "w7_s": 6,
    # W6's many-process form (only with `--only W6-many`): idle connections over
    # `serve --workers`, each worker and generator under this machine's 20,000
    # descriptors a process, each generator from its own 127.0.0.x (ports per address pair).
    "w6m_connections": 100_000,
    "w6m_workers": 8,
    "w6m_generators": 6,
    "w6m_hold_s": 60,
    # The herd at ten times the size (only with `--only W5-herd10`): this many clients,
    # each of its own user, each `w5h10_behind` events behind, reconnect at once to
    # `w5h10_procs` `serve` processes on PostgreSQL with Redis (the generator deals the
    # clients out in turn); all are to be caught up within `w5h10_limit_s`.
    "w5h10_clients": 10_000,
    "w5h10_behind": 100,
    "w5h10_procs": 2,
    "w5h10_limit_s": 10,
    "w5h10_wait_s": 120,
    "w5h10_repeats": 3,
    # Smaller herds run first on the same servers, to show how the time grows (e.g.
    # `--set 'w5h10_smaller=[2500,5000]'`).
    "w5h10_smaller": [],
}
FULL = {
    **QUICK,
    "repeats": 5,
    "w1_repeats": 5,
    "w5_herd_repeats": 5,
    "w6_repeats": 3,
    "users": 2100,
    "w1_subscribers": 2000,
    "w1_rates": [5, 10, 20, 40, 80, 160, 320],
    "w1_step_s": 6,
    "w2_s": 30,
    "w3_s": 30,
    "w4_s": 15,
    "w5_repeats": 100,
    "w6_connections": 20_000,
    "w7_s": 15,
}
# Runs where the generator used more than this share of its core are discarded.
GEN_SATURATED = 0.9
W1_P99_MS = 100.0
FANOUT_ROOM = "bench-fanout"
W3_ROOM = "bench-60"
W5_ROOM = "bench-63"
ALL_TARGETS = ["ours-sqlite", "ours-pg", "u", "p", "s"]
APPLIES = {
    "ours-sqlite": ["W1", "W1-capped", "W2", "W3", "W4", "W5", "W6", "W6-many"],
    "ours-pg": ["W2", "W3", "W4", "W5", "W7", "W5-herd10"],
    "u": ["W1", "W1-capped", "W2", "W3", "W6"],
    "p": ["W1", "W2", "W3", "W6"],
    "s": ["W3", "W4"],
}
# Quick runs leave out what the full run adds on PostgreSQL (same code path as SQLite).
QUICK_SKIP = {"ours-pg": ["W2", "W5"]}
# Run only when named in `--only` (minutes of set-up and gigabytes of memory).
ON_REQUEST = {"W6-many", "W5-herd10", "W1-capped"}


class Target:
    """A running server under test, and how the load generator speaks to it."""

    def __init__(self, name: str, proto: str, addrs: list[str], procs: list[sv.Proc]) -> None:
        self.name = name
        self.proto = proto
        self.addrs = addrs
        self.procs = procs
        self.tokens: list[str] = []

    def url(self, i: int = 0) -> str:
        addr = self.addrs[i % len(self.addrs)]
        return {"wp": f"ws://{addr}/ws", "u": f"ws://{addr}/", "sio": f"ws://{addr}"}[self.proto]

    def pids(self) -> list[int]:
        return [pid for p in self.procs for pid in p.server_pids()]

    def client(self, user: int, rooms: list[str], proc: int = 0) -> dict[str, Any]:
        spec: dict[str, Any] = {"url": self.url(proc), "rooms": rooms, "id": user}
        if self.tokens:
            spec["token"] = self.tokens[user % len(self.tokens)]
        return spec

    def stop(self) -> None:
        for p in self.procs:
            p.stop()


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.full = args.full
        self.size = dict(FULL if self.full else QUICK)
        if args.repeats:
            for key in ("repeats", "w1_repeats", "w5_herd_repeats", "w6_repeats", "w5h10_repeats"):
                self.size[key] = args.repeats
        for item in args.set or []:
            key, _, value = item.partition("=")
            if key not in self.size:
                raise SystemExit(f"--set {key}: no such size (one of {', '.join(self.size)})")
            self.size[key] = json.loads(value)
        self.only = set(args.only.split(",")) if args.only else None
        if self.only and "W5-herd10" in self.only:
            # A user of its own for each client of the big herd.
            self.size["users"] = max(self.size["users"], self.size["w5h10_clients"])
        self.targets = args.targets.split(",") if args.targets else ALL_TARGETS
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.workdir = sv.BENCH / "results" / stamp
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tag = f"{os.getpid()}{secrets.token_hex(2)}"
        self.results: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.notes: list[str] = []
        self.notes_code = "server code: the working tree"
        self._w6_rep = 0
        self.started = time.time()
        # The code it ran: a commit made while a long run goes on is not it.
        self.checkout = report.checkout()

    def wants(self, target: str, workload: str) -> bool:
        if self.only is None and not self.full and workload in QUICK_SKIP.get(target, []):
            return False
        if workload in ON_REQUEST and (self.only is None or workload not in self.only):
            return False
        return workload in APPLIES[target] and (self.only is None or workload in self.only)

    def record(self, workload: str, target: str, result: dict[str, Any]) -> None:
        self.results.setdefault(workload, {}).setdefault(target, []).append(result)
        self.save()

    def record_steps(self, workload: str, target: str, got: dict[str, Any]) -> list[dict[str, Any]]:
        """One loadgen run whose steps are repeats on the same connections: a run per step."""
        steps: list[dict[str, Any]] = got["steps"]
        head = {k: v for k, v in got.items() if k != "steps"}
        for step in steps:
            self.results.setdefault(workload, {}).setdefault(target, []).append(
                {**head, "steps": [step]}
            )
        self.save()
        return steps

    def save(self) -> None:
        data = {
            "size": self.size,
            "full": self.full,
            "results": self.results,
            "notes": self.notes,
            "code": self.notes_code,
            "measured": report.measured_now(self.checkout),
        }
        (self.workdir / "results.json").write_text(json.dumps(data, indent=1))

    def say(self, text: str) -> None:
        print(f"[{time.time() - self.started:6.0f}s] {text}", flush=True)

    # -- targets -------------------------------------------------------------------------

    def analyze(self, t: Target) -> None:
        """Fresh planner statistics for our PostgreSQL database (`servers.Database.analyze`)."""
        db = self._dbs.get(t.name.removeprefix("ours-"))
        if db is not None:
            db.analyze()

    async def ours(
        self, db_kind: str, procs: int = 1, redis: bool = False, workers: int = 1, pin: bool = True
    ) -> Target:
        """`procs` fresh server processes on the run's database of this kind (made once);
        `pin=False` lets them run on any core rather than on the server core."""
        first = db_kind not in self._dbs
        if first:
            self._dbs[db_kind] = sv.Database(db_kind, self.workdir, self.tag)
        db = self._dbs[db_kind]
        env = sv.our_env(db.url, sv.REDIS_URL if redis else None, f"bench{self.tag}")
        if first:
            toml = self.workdir / "community.toml"
            if not toml.exists():
                toml.write_text(sv.community_toml(self.size["users"], 64))
            sv.load_community(env, toml, self.workdir / f"load-{db_kind}.log")
        started = []
        for i in range(procs):
            started.append(
                await sv.start_ours(
                    f"ours-{db_kind}-{procs}-{i}", env, self.workdir, workers, pin=pin
                )
            )
        t = Target(f"ours-{db_kind}", "wp", [a for _, a in started], [p for p, _ in started])
        if db_kind not in self._tokens:
            t0 = time.monotonic()
            self._tokens[db_kind] = await sv.login_all(t.addrs, self.size["users"])
            self.say(f"{t.name}: {self.size['users']} logins in {time.monotonic() - t0:.1f}s")
        t.tokens = self._tokens[db_kind]
        return t

    # -- workloads -----------------------------------------------------------------------

    async def w1(self, t: Target, label: str = "W1", rates: list[float] | None = None) -> None:
        """Fan-out: one room, many subscribers, rising publish rate."""
        s = self.size
        n_tx = s["w1_senders"]
        senders = [dict(t.client(u, []), room=FANOUT_ROOM) for u in range(n_tx)]
        receivers = [t.client(n_tx + u, [FANOUT_ROOM]) for u in range(s["w1_subscribers"])]
        steps = [{"rate": r, "duration": s["w1_step_s"]} for r in rates or s["w1_rates"]]
        for rep in range(s["w1_repeats"]):
            cfg = {
                "mode": "fanout",
                "proto": t.proto,
                "server_pids": t.pids(),
                "senders": senders,
                "receivers": receivers,
                "steps": steps,
                "stop_p99_ms": W1_P99_MS,
                "drain_ms": 3000,
                "time_limit_s": 400,
            }
            got = await sv.loadgen(cfg, self.workdir, f"{label.lower()}-{t.name}-{rep}")
            got["summary"] = w1_summary(got["steps"])
            self.record(label, t.name, got)
            self.say(f"{label} {t.name}: {got['summary']}")
            rate = got["summary"].get("rate")
            if rep == 0 and rate and s["w1_overload"]:
                await self.w1_overload(t, cfg, rate, f"{label}-overload")

    async def w1_capped(self, t: Target) -> None:
        """W1 on a server held to a share of one core (`w1_cap_share`), so that the server
        runs out before the load generator does: its capacity, then 1.5× and 2× of it, where
        the overload policy (1013 for the connections that fall behind) shows or not."""
        cap = sv.CpuCap(t.pids(), self.size["w1_cap_share"], self.tag)
        try:
            await self.w1(t, "W1-capped", self.size["w1_cap_rates"])
        finally:
            cap.close()

    async def w1_overload(
        self, t: Target, cfg: dict[str, Any], rate: float, label: str = "W1-overload"
    ) -> None:
        """Past capacity: 1.5× and 2× the sustainable rate, each on fresh connections, with
        a share of stalled readers beside them (`w1_slow_share`, `bench.stalled`): the
        latency of what the others still get, and how many connections the server shed
        (1013, from its /metrics)."""
        s = self.size
        over = dict(cfg, stop_p99_ms=None)
        if t.proto == "wp":
            over["metrics_urls"] = [f"http://{addr}/metrics" for addr in t.addrs]
        first = s["w1_senders"] + s["w1_subscribers"]
        slow = [
            t.client(first + i, []) for i in range(round(s["w1_subscribers"] * s["w1_slow_share"]))
        ]
        for f in s["w1_overload"]:
            over["steps"] = [{"rate": rate * f, "duration": s["w1_overload_s"]}]
            stalled = Stalled()
            await stalled.open(slow, FANOUT_ROOM)
            try:
                got = await sv.loadgen(over, self.workdir, f"{label.lower()}-{t.name}-{f}")
            finally:
                stalled.close()
            got["capacity_rate"] = rate
            got["stalled"] = len(slow)
            self.record(label, t.name, got)
            for st in got["steps"]:
                lat = st.get("latency_ms") or {}
                self.say(
                    f"{label} {t.name}: {st['rate']} msg/s ({f}×), {len(slow)} stalled: p99 of"
                    f" the others {lat.get('p99')} ms, lost {st['lost']}, closed {st['closed']},"
                    f" shed {st.get('shed')}, server RSS {st['server_rss_mib']:.0f} MiB"
                )

    async def w2(self, t: Target) -> None:
        """Many rooms: 50 × 20 members, 200 msg/s in all, one sender per room."""
        s = self.size
        rooms = [f"bench-{r:02d}" for r in range(s["w2_rooms"])]
        per_room = s["w2_members"]
        receivers, senders = [], []
        for r, room in enumerate(rooms):
            for m in range(per_room):
                spec = t.client(r * per_room + m, [room])
                if m == 0:
                    senders.append(dict(spec, room=room))
                else:
                    receivers.append(spec)
        cfg = {
            "mode": "fanout",
            "proto": t.proto,
            "server_pids": t.pids(),
            "senders": senders,
            "receivers": receivers,
            "steps": [{"rate": s["w2_rate"], "duration": s["w2_s"]}] * s["repeats"],
            "drain_ms": 5000,
            "pause_ms": 1000,
            "time_limit_s": 300,
        }
        got = await sv.loadgen(cfg, self.workdir, f"w2-{t.name}")
        for st in self.record_steps("W2", t.name, got):
            lat = st["latency_ms"] or {}
            self.say(f"W2 {t.name}: p99 {lat.get('p99')} lost {st['lost']}")

    async def w3(self, t: Target) -> None:
        """Unloaded latency: one sender, one receiver, 10 msg/s."""
        s = self.size
        users = s["users"]
        cfg = {
            "mode": "fanout",
            "proto": t.proto,
            "server_pids": t.pids(),
            "senders": [dict(t.client(users - 1, []), room=W3_ROOM)],
            "receivers": [t.client(users - 2, [W3_ROOM])],
            "steps": [{"rate": 10, "duration": s["w3_s"]}] * s["repeats"],
            "drain_ms": 3000,
            "time_limit_s": 300,
        }
        got = await sv.loadgen(cfg, self.workdir, f"w3-{t.name}")
        for st in self.record_steps("W3", t.name, got):
            self.say(f"W3 {t.name}: {st['latency_ms']}")

    async def w4(self, t: Target) -> None:
        """Durable ingest: acked messages/s, the ack after commit (closed loop)."""
        s = self.size
        n = s["w4_connections"]
        senders = [dict(t.client(u, []), room=f"bench-{u % 50:02d}") for u in range(n)]
        for rep in range(s["repeats"]):
            self.analyze(t)  # each run adds tens of thousands of messages
            cfg = {
                "mode": "ingest",
                "proto": t.proto,
                "server_pids": t.pids(),
                "senders": senders,
                "window": s["w4_window"],
                "warmup": 1,
                "duration": s["w4_s"],
                "time_limit_s": 120,
            }
            got = await sv.loadgen(cfg, self.workdir, f"w4-{t.name}-{rep}")
            self.record("W4", t.name, got)
            self.say(f"W4 {t.name}: {got['acked_per_s']:.0f}/s ack {got['ack_ms']}")

    async def fill_w5_room(self, t: Target) -> int:
        """Fill W5's room to more than 1,100 events; its last seq."""
        # 25 senders at 1,200 msg/s in all for a second and a half, until there are enough.
        fill = {
            "mode": "fanout",
            "proto": t.proto,
            "server_pids": t.pids(),
            "senders": [dict(t.client(u, []), room=W5_ROOM) for u in range(25)],
            "receivers": [],
            "steps": [{"rate": 1200, "duration": 1.5}],
            "drain_ms": 5000,
            "time_limit_s": 60,
        }
        last = 0
        for attempt in range(10):
            await sv.loadgen(fill, self.workdir, f"w5-fill-{t.name}-{attempt}")
            last = await sv.last_seq(t.addrs[0], t.tokens[0], W5_ROOM)
            # Sends the generator left in flight are still being stored: wait for quiet.
            while True:
                await asyncio.sleep(1)
                now = await sv.last_seq(t.addrs[0], t.tokens[0], W5_ROOM)
                if now == last:
                    break
                last = now
            if last >= 1100:
                break
        if last < 1100:
            raise RuntimeError(f"W5: could only fill {W5_ROOM} to seq {last}")
        return last

    async def w5(self, t: Target) -> None:
        """Catch-up of 1,000 missed messages, and a herd of 1,000 clients each 100 behind."""
        s = self.size
        last = await self.fill_w5_room(t)
        for rep in range(s["repeats"]):
            cfg = {
                "mode": "catchup",
                "proto": t.proto,
                "client": t.client(30, []),
                "room": W5_ROOM,
                "since": last - 1000,
                "last_seq": last,
                "repeats": s["w5_repeats"],
                "time_limit_s": 30 + 6 * s["w5_repeats"],
            }
            got = await sv.loadgen(cfg, self.workdir, f"w5-catchup-{t.name}-{rep}")
            self.record("W5-catchup", t.name, got)
            self.say(f"W5 catch-up {t.name}: {got['ms']}")
            herd = {
                "mode": "herd",
                "proto": t.proto,
                "server_pids": t.pids(),
                "clients": [
                    dict(t.client(u, [W5_ROOM]), since=last - 100, behind=100)
                    for u in range(s["w5_herd"])
                ],
                "time_limit_s": 60,
            }
            if rep >= s["w5_herd_repeats"]:
                continue
            got = await sv.loadgen(herd, self.workdir, f"w5-herd-{t.name}-{rep}")
            self.record("W5-herd", t.name, got)
            self.say(
                f"W5 herd {t.name}: {got['caught_up']}/{got['clients']} in {got['all_done_s']}s"
                f" ({got['server_cpu_s'] * 1e3 / got['clients']:.2f} ms server CPU per client)"
                f" ({got.get('refused', {}).get('count', 0)} upgrades refused with 503, retried)"
            )

    async def w5_herd10(self) -> None:
        """The herd at ten times the size: 10,000 clients, each 100 behind in W5's room and
        each as a user of its own, reconnect at once to two `serve` processes on PostgreSQL
        (Redis between them; the generator deals the clients out in turn). A refusal with
        `Retry-After` is waited out and retried, as a client does; one without is counted."""
        s = self.size
        behind, procs = s["w5h10_behind"], s["w5h10_procs"]
        t = await self.ours("pg", procs=procs, redis=True, pin=False)
        pg_name = self._dbs["pg"].pg_name
        assert pg_name is not None
        redis_pid = sv.redis_pid()
        runs = [n for n in s["w5h10_smaller"] for _ in range(s["w5h10_repeats"])]
        runs += [s["w5h10_clients"]] * s["w5h10_repeats"]
        try:
            last = await self.fill_w5_room(t)
            for rep, n in enumerate(runs):
                self.analyze(t)
                cfg = {
                    "mode": "herd",
                    "proto": t.proto,
                    "server_pids": t.pids(),
                    "clients": [
                        dict(t.client(u, [W5_ROOM], u), since=last - behind, behind=behind)
                        for u in range(n)
                    ],
                    "limit_s": s["w5h10_limit_s"],
                    "herd_wait_s": s["w5h10_wait_s"],
                    "retry_network": True,
                    "time_limit_s": s["w5h10_wait_s"] + 60,
                }
                load0 = os.getloadavg()
                redis0 = _cpu([redis_pid]) if redis_pid else None
                pg0 = _pg_backends(pg_name)
                got = await sv.loadgen(cfg, self.workdir, f"w5h10-{rep}", pin=False)
                got["load_before"] = load0
                got["load_after"] = os.getloadavg()
                got["redis_cpu_s"] = _cpu([redis_pid]) - redis0 if redis0 is not None else None
                got["pg_cpu_s"] = _pg_cpu_since(pg_name, pg0)
                got["procs"] = procs
                refused = got["refused"]
                got["met"] = (
                    got["caught_up"] == n
                    and got["all_done_s"] is not None
                    and got["all_done_s"] <= s["w5h10_limit_s"]
                    and not refused["without_retry_after"]
                    and "500" not in refused["by_status"]
                )
                self.record("W5-herd10", t.name, got)
                self.say(
                    f"W5 herd of {n:,} {t.name}: {got['caught_up']}/{n} in {got['all_done_s']}s"
                    f" ({got['within_limit']} within {s['w5h10_limit_s']} s),"
                    f" {got['messages']}/{got['expected_messages']} messages,"
                    f" refused {refused['by_status']} (without Retry-After"
                    f" {refused['without_retry_after']}), failed {got['failed']} {got['failures']},"
                    f" retried {got['network_retries']},"
                    f" server CPU {got['server_cpu_s']:.1f} s"
                    f" ({got['server_cpu_s'] * 1e3 / n:.2f} ms a client; PostgreSQL"
                    f" {got['pg_cpu_s']:.1f} s, {got['pg_cpu_s'] * 1e3 / n:.2f} ms a client),"
                    f" generator {got['gen_cpu']:.2f},"
                    f" load {load0[0]:.1f} → {got['load_after'][0]:.1f}: met {got['met']}"
                )
                await settle(t.pids())
        finally:
            t.stop()

    async def w6(self, t: Target) -> None:
        """Idle connections: server memory per connection (each subscribed to one room)."""
        s = self.size
        n = s["w6_connections"]
        # The server holds a descriptor per connection, the generator one per socket: on a
        # machine that caps descriptors per process (20,000 here, hard limit) both need a
        # few hundred to spare, or the last upgrades fail and /proc cannot be read.
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if n > limit - W6_SPARE_FDS:
            self.say(f"W6: {limit - W6_SPARE_FDS:,} connections, not {n:,}: descriptor limit")
            n = s["w6_connections"] = limit - W6_SPARE_FDS
            s["w6_fd_limit"] = limit
        receivers = [t.client(u, [f"bench-{u % 50:02d}"]) for u in range(n)]
        for rep in [self._w6_rep]:
            cfg = {
                "mode": "idle",
                "proto": t.proto,
                "server_pids": t.pids(),
                "receivers": receivers,
                "concurrency": 200,
                "settle_ms": 3000,
                "connect_timeout_ms": 60000,
                # Upgrades refused with 503 + Retry-After are retried (with jitter) by the
                # generator; the limit allows for a slow set-up rate (20 a second).
                "time_limit_s": 120 + n // 20,
            }
            got = await sv.loadgen(cfg, self.workdir, f"w6-{t.name}-{rep}")
            self.record("W6", t.name, got)
            self.say(
                f"W6 {t.name}: {got['open']} open, {got['kib_per_connection']} KiB each, set up"
                f" in {got['setup_s']}s ({got.get('refused', {}).get('count', 0)} refused with 503)"
            )
            await asyncio.sleep(3)

    async def w6_many(self) -> None:
        """Idle connections past one process's descriptor limit: `serve --workers N` with
        Redis, and several generators, each from a loopback address of its own."""
        s = self.size
        n, workers, gens = s["w6m_connections"], s["w6m_workers"], s["w6m_generators"]
        t = await self.ours("sqlite", workers=workers, redis=True)
        try:
            per = -(-n // gens)
            cfgs = []
            for g in range(gens):
                receivers = [
                    dict(t.client(u, [f"bench-{u % 50:02d}"]), local_address=f"127.0.0.{2 + g}")
                    for u in range(g * per, min(n, (g + 1) * per))
                ]
                cfgs.append(
                    {
                        "mode": "idle",
                        "proto": t.proto,
                        "server_pids": t.pids(),
                        "receivers": receivers,
                        "concurrency": 100,
                        # Long enough that every generator still holds its connections when
                        # the slowest has opened all of its own.
                        "settle_ms": s["w6m_hold_s"] * 1000,
                        "connect_timeout_ms": 120000,
                        "time_limit_s": 300 + n // 10,
                    }
                )
            got = await asyncio.gather(
                *(
                    sv.loadgen(cfg, self.workdir, f"w6m-{g}", pin=False)
                    for g, cfg in enumerate(cfgs)
                )
            )
            opened = sum(r["open"] for r in got)
            rss0 = min(r["rss_before_kib"] for r in got)
            rss1 = max(r["rss_after_kib"] for r in got)
            result = {
                "wanted": n,
                "open": opened,
                "workers": workers,
                "generators": gens,
                "setup_s": max(r["setup_s"] for r in got),
                "failed": sum(r["failed"] for r in got),
                "refused": sum(r.get("refused", {}).get("count", 0) for r in got),
                "kib_per_connection": (rss1 - rss0) / opened if opened else None,
                "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE),
            }
            self.record("W6-many", t.name, result)
            self.say(f"W6 many: {result}")
        finally:
            t.stop()

    async def w7(self) -> None:
        """The Redis tax: CPU per delivery, two processes with Redis vs one in-process."""
        s = self.size
        redis_pid = sv.redis_pid()
        for variant, procs, redis in (("one", 1, False), ("two-redis", 2, True)):
            t = await self.ours("pg", procs=procs, redis=redis)
            try:
                n_rx = s["w7_subscribers"]
                senders = [dict(t.client(u, [], 0), room=FANOUT_ROOM) for u in range(4)]
                receivers = [t.client(4 + u, [FANOUT_ROOM], u) for u in range(n_rx)]
                cfg = {
                    "mode": "fanout",
                    "proto": "wp",
                    "server_pids": t.pids(),
                    "redis_pids": [redis_pid] if redis and redis_pid else [],
                    "senders": senders,
                    "receivers": receivers,
                    "steps": [{"rate": s["w7_rate"], "duration": s["w7_s"]}] * s["repeats"],
                    "drain_ms": 3000,
                    "time_limit_s": 300,
                }
                got = await sv.loadgen(cfg, self.workdir, f"w7-{variant}")
                for st in self.record_steps("W7", variant, got):
                    st["cpu_us_per_delivery"] = (
                        1e6 * st["server_cpu_s"] / st["received"] if st["received"] else None
                    )
                    self.say(f"W7 {variant}: {st['cpu_us_per_delivery']} µs/delivery")
            finally:
                t.stop()

    # -- driving -------------------------------------------------------------------------

    async def run(self) -> None:
        self._dbs: dict[str, sv.Database] = {}
        self._tokens: dict[str, list[str]] = {}
        order: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("ours-sqlite", lambda: self.run_ours("sqlite")),
            ("ours-pg", lambda: self.run_ours("pg")),
            ("u", self.run_u),
            ("p", self.run_p),
            ("s", self.run_s),
        ]
        try:
            for name, job in order:
                if name in self.targets and any(self.wants(name, w) for w in APPLIES[name]):
                    try:
                        await job()
                    except Exception as exc:
                        self.notes.append(f"{name}: failed: {exc!r}")
                        self.say(f"{name} FAILED: {exc!r}")
        finally:
            for db in self._dbs.values():
                if os.environ.get("BENCH_KEEP_DB"):
                    self.say(f"kept the database {db.url} (BENCH_KEEP_DB)")
                else:
                    db.drop()
            self.save()

    async def run_ours(self, kind: str) -> None:
        name = f"ours-{kind}"
        if any(self.wants(name, w) for w in ("W1", "W1-capped", "W2", "W3", "W4", "W5")):
            t = await self.ours(kind)
            try:
                for w, job in (
                    ("W3", self.w3),
                    ("W2", self.w2),
                    ("W1", self.w1),
                    ("W1-capped", self.w1_capped),
                    ("W4", self.w4),
                    ("W5", self.w5),
                ):
                    if self.wants(name, w):
                        if w != "W4":  # W4 analyzes before each of its runs
                            self.analyze(t)
                        await job(t)
            finally:
                t.stop()
        for rep in range(self.size["w6_repeats"] if self.wants(name, "W6") else 0):
            # A fresh process each time: its memory after minus before is the connections'.
            self._w6_rep = rep
            t = await self.ours(kind)
            try:
                await self.w6(t)
            finally:
                t.stop()
        if self.wants(name, "W7"):
            await self.w7()
        if self.wants(name, "W6-many"):
            await self.w6_many()
        if self.wants(name, "W5-herd10"):
            await self.w5_herd10()

    async def run_u(self) -> None:
        await self._run_peer("u", "u", sv.start_u(self.workdir))

    async def run_p(self) -> None:
        await self._run_peer("p", "sio", sv.start_p(self.workdir, f"bench-sio-{self.tag}"))

    async def _run_peer(self, name: str, proto: str, starting: Awaitable[Any]) -> None:
        proc, addr = await starting
        t = Target(name, proto, [addr], [proc])
        try:
            for w, job in (
                ("W3", self.w3),
                ("W2", self.w2),
                ("W1", self.w1),
                ("W1-capped", self.w1_capped),
            ):
                if self.wants(name, w):
                    await job(t)
        finally:
            t.stop()
        for rep in range(self.size["w6_repeats"] if self.wants(name, "W6") else 0):
            self._w6_rep = rep
            proc, addr = await (
                sv.start_u(self.workdir)
                if name == "u"
                else sv.start_p(self.workdir, f"bench-sio-{self.tag}")
            )
            t = Target(name, proto, [addr], [proc])
            try:
                await self.w6(t)
            finally:
                t.stop()

    async def run_s(self) -> None:
        from bench.peers import s_synapse

        proc, addr, secret = await sv.start_s(self.workdir)
        client = s_synapse.Client(f"http://{addr}", secret)
        try:
            tokens, room = await s_synapse.setup(client, 4)
            s = self.size
            # All of W3 first: Synapse keeps working in the background after a burst of sends.
            if self.wants("s", "W3"):
                for _rep in range(s["repeats"]):
                    got = await s_synapse.latency(client, tokens, room, 10, s["w3_s"])
                    self.record("W3", "s", {"steps": [_synapse_step(got)]})
                    self.say(f"W3 s: {got}")
            if self.wants("s", "W4"):
                for _rep in range(s["repeats"]):
                    cpu0 = _cpu(proc.server_pids())
                    got = await s_synapse.ingest(
                        client, tokens, room, s["w4_s_concurrency"], s["w4_s"]
                    )
                    got["server_cpu_s"] = _cpu(proc.server_pids()) - cpu0
                    self.record("W4", "s", got)
                    self.say(f"W4 s: {got['acked_per_s']:.0f}/s")
        finally:
            await client.close()
            proc.stop()


async def settle(pids: list[int], limit_s: float = 120.0) -> None:
    """Wait until the servers are nearly idle (under a tenth of a core for 2 s), at most
    `limit_s`: a herd's 10,000 sockets closing at its end are work for them, and the next
    herd must not start in it."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = _cpu(pids)
        await asyncio.sleep(2)
        if _cpu(pids) - before < 0.2:
            return


def _cpu(pids: list[int]) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _pg_backends(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to `database` (by the
    process title, `postgres: … <user> <database> <address> <state>`)."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            found[int(entry.name)] = _cpu([int(entry.name)])
    return found


def _pg_cpu_since(database: str, before: dict[int, float]) -> float:
    """The CPU the database's backends used since `before` (those started since from 0;
    a backend that ended meanwhile is not counted)."""
    now = _pg_backends(database)
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


def _synapse_step(got: dict[str, Any]) -> dict[str, Any]:
    lat = {k: got[k] for k in ("n", "p50", "p90", "p99", "p999", "max") if k in got}
    return {
        "rate": 10,
        "sent": got["sent"],
        "received": got["received"],
        "lost": got["lost"],
        "latency_ms": lat,
        "gen_cpu": 0.0,
    }


def w1_summary(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The highest step with p99 ≤ 100 ms, nothing lost, and an unsaturated generator."""
    best = None
    saturated = False
    for st in steps:
        lat = st.get("latency_ms") or {}
        if st["gen_cpu"] > GEN_SATURATED:
            saturated = True
            break
        if lat.get("p99", 1e9) <= W1_P99_MS and st["lost"] == 0 and st["dup"] == 0:
            best = st
        else:
            break
    if best is None:
        # Nothing sustained: the CPU efficiency of the first step still compares servers.
        first = steps[0] if steps and steps[0]["gen_cpu"] <= GEN_SATURATED else None
        return {
            "sustainable_deliveries_per_s": None,
            "deliveries_per_cpu_s": first["deliveries_per_cpu_s"] if first else None,
            "generator_saturated": saturated,
            "unsustained": True,
        }
    return {
        "rate": best["rate"],
        "sustainable_deliveries_per_s": best["deliveries_per_s"],
        "deliveries_per_cpu_s": best["deliveries_per_cpu_s"],
        "p99_ms": best["latency_ms"]["p99"],
        "gen_cpu": best["gen_cpu"],
        "generator_saturated": saturated,
        "capped": best is steps[-1] and not saturated,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("FULL") == "1")
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W3")
    parser.add_argument("--targets", help="comma-separated: " + ",".join(ALL_TARGETS))
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--commit", help="benchmark this commit's server code, not the work tree")
    parser.add_argument(
        "--set", action="append", help="override a size for development, e.g. users=300"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        help="a setting for our servers, e.g. WERKPLAATS_WS_FANOUT_LINGER_SECONDS=0",
    )
    args = parser.parse_args()
    sv.EXTRA_ENV.update(item.split("=", 1) for item in args.server_env)
    # Tens of thousands of sockets (W6) need file descriptors; children inherit the limit.
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    except (ValueError, OSError):
        pass
    bench = Bench(args)
    if args.commit:
        rev = sv.export_commit(args.commit, bench.workdir / "code")
        sv.CODE_DIR = bench.workdir / "code"
        bench.notes_code = f"server code: commit `{rev}` (`--commit {args.commit}`)"
    asyncio.run(bench.run())
    print(f"results: {bench.workdir / 'results.json'}")
    if not args.no_doc:
        report.write(bench)
        print("docs/performance.md updated")


if __name__ == "__main__":
    main()

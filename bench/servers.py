"""Starting the servers under test on loopback: ours (werkplaats serve), U, P and S.

Every server is a child process pinned with `taskset` to the server core; the load
generator gets the other core. Everything is stopped (SIGTERM, then SIGKILL) on exit.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = ROOT / ".venv" / "bin"
PEERS_PY = BENCH / ".venv-peers" / "bin" / "python"
SERVER_CORE = "0"
LOADGEN_CORE = "1"
PASSWORD = "bench-wachtwoord"
REDIS_URL = "redis://127.0.0.1:6379/0"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(core: str, argv: Sequence[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", core, *argv]
    return list(argv)


class CpuCap:
    """A share of one core for some processes (the cgroup `cpu` controller, v2 or v1), so
    that the server, not the load generator, is what runs out first. A short period
    (10 ms) keeps each throttled stretch short: a capped server is slower, not stalled."""

    PERIOD_US = 10_000

    def __init__(self, pids: Sequence[int], share: float, tag: str) -> None:
        quota = max(1_000, int(self.PERIOD_US * share))
        unified = Path("/sys/fs/cgroup/cgroup.controllers")
        if unified.exists() and "cpu" in unified.read_text().split():
            self.dir = Path("/sys/fs/cgroup") / f"bench-{tag}"
            self.dir.mkdir(exist_ok=True)
            (self.dir / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        else:
            self.dir = Path("/sys/fs/cgroup/cpu") / f"bench-{tag}"
            self.dir.mkdir(exist_ok=True)
            (self.dir / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (self.dir / "cpu.cfs_quota_us").write_text(str(quota))
        for pid in pids:
            (self.dir / "cgroup.procs").write_text(str(pid))

    def close(self) -> None:
        """Lift the cap: the processes go back to the parent group, the group goes."""
        parent = self.dir.parent / "cgroup.procs"
        with suppress(OSError):
            for pid in (self.dir / "cgroup.procs").read_text().split():
                with suppress(OSError):
                    parent.write_text(pid)
        with suppress(OSError):
            self.dir.rmdir()


class Proc:
    """A child process with its log file; `stop` ends it and only it."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path):
        self.name = name
        self.log = log
        self.file = log.open("ab")
        self.popen = subprocess.Popen(
            argv, env=env, stdout=self.file, stderr=subprocess.STDOUT, cwd=cwd
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def server_pids(self) -> list[int]:
        """The process and its children (uvicorn --workers, taskset exec keeps the pid)."""
        pids = [self.pid]
        with suppress(OSError):
            for child in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split():
                pids.append(int(child))
        return pids

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self.file.close()


async def wait_http(url: str, limit: float = 60.0, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if proc is not None and proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited; see {proc.log}")
            with suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {limit:.0f}s")


# -- our server -------------------------------------------------------------------------


def community_toml(users: int, rooms: int) -> str:
    """Themes bench-00…, one fan-out theme, one area, `users` members (cheap to generate)."""
    out = ['[[area]]\nslug = "bench-gebied"\nname = "Benchmarkgebied"\n']
    out.append('[[theme]]\nslug = "bench-fanout"\nname = "Benchmark fan-out"\n')
    for r in range(rooms):
        out.append(f'[[theme]]\nslug = "bench-{r:02d}"\nname = "Benchmark {r:02d}"\n')
    for u in range(users):
        out.append(
            f'[[user]]\nusername = "b{u:05d}"\ndisplay_name = "Deelnemer {u:05d}"\n'
            f'organisation = "Gemeente Benchmark"\nlayer = "gemeente"\n'
            f'areas = ["bench-gebied"]\nrole = "member"\npassword = "{PASSWORD}"\n'
        )
    return "\n".join(out)


# Set by `bench.run --commit REV`: the server code of that commit (exported with git
# archive) instead of the working tree, so that others' unfinished edits are not measured.
CODE_DIR: Path | None = None
# Settings for our servers from the command line (`--server-env`), applied last.
EXTRA_ENV: dict[str, str] = {}


def export_commit(rev: str, into: Path) -> str:
    """Export `rev` into `into` (git archive); returns its short hash."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", rev],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def our_env(database_url: str, redis_url: str | None, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WERKPLAATS_")}
    if CODE_DIR is not None:
        env["PYTHONPATH"] = str(CODE_DIR)
    env.update(
        WERKPLAATS_DATABASE_URL=database_url,
        WERKPLAATS_SECRET_KEY="bench-secret-key-0123456789",
        # The benchmark drives each connection far past the contract's default bucket.
        WERKPLAATS_SEND_BURST="10000000",
        WERKPLAATS_SEND_RATE="10000000",
        WERKPLAATS_FRAME_BURST="10000000",
        WERKPLAATS_FRAME_RATE="10000000",
        # Logins are setup, not measured: cheap hashes make thousands of them quick.
        WERKPLAATS_ARGON2_TIME_COST="1",
        WERKPLAATS_ARGON2_MEMORY_KIB="8192",  # the least the settings allow
        WERKPLAATS_LOG_LEVEL="WARNING",
        WERKPLAATS_REDIS_PREFIX=prefix,
        WERKPLAATS_WS_IDLE_SECONDS="600",
        # W5's catch-up repeats ask for 1,000 + r missed events (each a range of its own).
        WERKPLAATS_BACKLOG_CAP="2000",
        # Thousands of clients from one address, many as one user: no socket limit here.
        WERKPLAATS_WS_MAX_PER_USER="100000",
        WERKPLAATS_WS_MAX_PER_ADDRESS="1000000",
    )
    if redis_url:
        env["WERKPLAATS_REDIS_URL"] = redis_url
    env.update(EXTRA_ENV)
    return env


class Database:
    """A fresh bench database: a SQLite file or a PostgreSQL database dropped at the end."""

    def __init__(self, kind: str, workdir: Path, tag: str) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.url = f"sqlite+aiosqlite:///{workdir}/werkplaats-{tag}.db"
            self.pg_name = None
        else:
            self.pg_name = f"werkplaats_bench_{tag}"
            self.url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.pg_name}"
            self._psql(f'DROP DATABASE IF EXISTS "{self.pg_name}"')
            self._psql(f'CREATE DATABASE "{self.pg_name}"')

    def _psql(self, sql: str, database: str = "postgres") -> None:
        subprocess.run(
            ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-c", sql],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def analyze(self) -> None:
        """PostgreSQL: refresh the planner's statistics, as autovacuum would.

        This machine's PostgreSQL runs with autovacuum off, so the statistics of a bench
        database stay those of its empty tables: plans made from them (a batch's facts
        read hash-joined all of `messages` instead of probing its unique index) got slower
        with every message stored, W4 falling from 6,200 to 1,900 acks/s over five runs.
        ANALYZE also drops the plans cached on the server's connections.
        """
        if self.pg_name:
            self._psql("ANALYZE", self.pg_name)

    def drop(self) -> None:
        if self.pg_name:
            with suppress(subprocess.CalledProcessError):
                self._psql(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def load_community(env: dict[str, str], toml: Path, log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(
            [str(VENV_BIN / "werkplaats"), "load", str(toml)],
            env=env,
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=toml.parent,
        )


async def start_ours(
    name: str, env: dict[str, str], workdir: Path, workers: int = 1, pin: bool = True
) -> tuple[Proc, str]:
    port = free_port()
    serve = [str(VENV_BIN / "werkplaats"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1 or not pin:
        # Several processes share both cores (W6's many-connection form, the big herd).
        argv = [*serve, "--workers", str(workers)]
    else:
        argv = pinned(SERVER_CORE, serve)
    proc = Proc(name, argv, env, workdir / f"{name}.log", workdir)
    try:
        await wait_http(f"http://127.0.0.1:{port}/readyz", proc=proc)
    except BaseException:
        proc.stop()  # one that did not answer in time is not left running
        raise
    return proc, f"127.0.0.1:{port}"


async def login_all(addrs: Sequence[str], users: int, concurrency: int = 16) -> list[str]:
    """A session token for each of the first `users` bench users, the logins spread over
    the servers at `addrs` (each hashes on its own cores)."""
    tokens: list[str] = [""] * users
    queue = list(range(users))

    async def worker(http: httpx.AsyncClient) -> None:
        while queue:
            u = queue.pop()
            body = {"username": f"b{u:05d}", "password": PASSWORD}
            got = await http.post("/api/session", json=body)
            while got.status_code == 503 and "Retry-After" in got.headers:
                # The login gate is full (several servers' workers share the cores).
                await asyncio.sleep(float(got.headers["Retry-After"]))
                got = await http.post("/api/session", json=body)
            got.raise_for_status()
            tokens[u] = got.json()["token"]

    clients = [httpx.AsyncClient(base_url=f"http://{a}", timeout=60) for a in addrs]
    try:
        await asyncio.gather(*(worker(clients[i % len(clients)]) for i in range(concurrency)))
    finally:
        for http in clients:
            await http.aclose()
    return tokens


async def last_seq(addr: str, token: str, room: str) -> int:
    async with httpx.AsyncClient(base_url=f"http://{addr}", timeout=30) as http:
        got = await http.get(
            f"/api/rooms/{room}/events",
            params={"after": 0, "limit": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        got.raise_for_status()
        return int(got.json()["last_seq"])


# -- peers -------------------------------------------------------------------------------


async def start_u(workdir: Path) -> tuple[Proc, str]:
    port = free_port()
    argv = pinned(SERVER_CORE, [str(PEERS_PY), str(BENCH / "peers" / "u_websockets.py"), str(port)])
    proc = Proc("u", argv, dict(os.environ), workdir / "u.log", workdir)
    await _wait_tcp(port, proc)
    return proc, f"127.0.0.1:{port}"


async def start_p(workdir: Path, channel: str) -> tuple[Proc, str]:
    port = free_port()
    env = dict(os.environ, P_REDIS_URL=REDIS_URL, P_CHANNEL=channel)
    uvicorn = [str(PEERS_PY), "-m", "uvicorn", "p_socketio:app", "--host", "127.0.0.1"]
    argv = pinned(
        SERVER_CORE,
        [*uvicorn, "--port", str(port), "--log-level", "warning", "--no-access-log"],
    )
    proc = Proc("p", argv, env, workdir / "p.log", BENCH / "peers")
    await _wait_tcp(port, proc)
    return proc, f"127.0.0.1:{port}"


async def start_s(workdir: Path) -> tuple[Proc, str, str]:
    from bench.peers import s_synapse

    port = free_port()
    sdir = workdir / "synapse"
    config = s_synapse.write_config(sdir, port)
    keygen, serve = s_synapse.command(str(PEERS_PY), config)
    subprocess.run(keygen, check=True, cwd=sdir, stdout=subprocess.DEVNULL)
    proc = Proc("s", pinned(SERVER_CORE, serve), dict(os.environ), sdir / "stdout.log", sdir)
    await s_synapse.wait_up(f"http://127.0.0.1:{port}", limit=120)
    return proc, f"127.0.0.1:{port}", (sdir / "secret").read_text()


async def _wait_tcp(port: int, proc: Proc, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited; see {proc.log}")
        with suppress(OSError):
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not listen on {port}")


def redis_pid() -> int | None:
    """The local redis-server's pid, to count its CPU in the Redis tax (None if unknown)."""
    with suppress(OSError, ValueError):
        out = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "info", "server"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        for line in out.splitlines():
            if line.startswith("process_id:"):
                return int(line.split(":")[1])
    return None


async def loadgen(
    cfg: dict[str, Any], workdir: Path, name: str, pin: bool = True
) -> dict[str, Any]:
    """Run bench/loadgen/loadgen.js on the generator core and return its JSON result."""
    import json

    if os.environ.get("BENCH_DEBUG"):
        cfg = dict(cfg, debug=True)
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(cfg))
    argv = ["node", str(BENCH / "loadgen" / "loadgen.js"), str(path)]
    if pin:
        argv = pinned(LOADGEN_CORE, argv)
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    limit = cfg.get("time_limit_s", 300) + 30
    out, err = await asyncio.wait_for(proc.communicate(), limit)
    (workdir / f"{name}.stderr").write_bytes(err)
    if proc.returncode != 0:
        tail = err.decode(errors="replace")[-800:]
        raise RuntimeError(f"loadgen {name} failed ({proc.returncode}): {tail}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def python_version() -> str:
    return sys.version.split()[0]

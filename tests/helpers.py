"""Shared test machinery: service checks, databases, real servers, logins."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from redis.asyncio import Redis

from chat.clock import SYSTEM_CLOCK, Clock
from persistence.db import Database
from persistence.migrate import migrate
from tests import forkserver
from web.app import create_app
from web.cli import load_file
from web.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
# The fixture meeting lies a month ahead of the day the suite runs: tests about "the next
# meeting" (due dates, agenda, digest, room list) must not depend on the calendar.
TODAY = datetime.now(UTC).date()
MEETING_ONE = TODAY + timedelta(days=30)
DUTCH_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip


def after_meeting_one(days: int) -> date:
    """A date `days` after the fixture meeting: for meetings and due dates that must follow it."""
    return MEETING_ONE + timedelta(days=days)


def dutch_date(day: date) -> str:
    """'1 december 2026', as the agenda and digest write a meeting's date."""
    return f"{day.day} {DUTCH_MONTHS[day.month - 1]} {day.year}"


def _render_community() -> Path:
    template = string.Template((FIXTURES / "community.template.toml").read_text(encoding="utf-8"))
    folder = Path(tempfile.mkdtemp(prefix="werkplaats-community-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "community.toml"
    path.write_text(template.substitute(meeting_one=MEETING_ONE.isoformat()), encoding="utf-8")
    return path


COMMUNITY = _render_community()
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_HOST = os.environ.get("WERKPLAATS_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}:5432/postgres"
REDIS_URL = os.environ.get("WERKPLAATS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WERKPLAATS = str(Path(sys.executable).parent / "werkplaats")


def ws_url(base: str, query: str = "") -> str:
    """The `/ws` address of a server at `base` (http://host:port)."""
    return "ws" + base.removeprefix("http") + "/ws" + query


def token_for(base: str, username: str) -> str:
    """Log in synchronously as a fixture user; returns the bearer token."""
    r = httpx.post(
        f"{base}/api/session",
        json={"username": username, "password": password_of(username)},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


def password_of(username: str) -> str:
    """A fixture user's password, as tests/fixtures/community.template.toml gives it."""
    return _fixture_passwords()[username]


@functools.cache
def _fixture_passwords() -> dict[str, str]:
    template = string.Template((FIXTURES / "community.template.toml").read_text(encoding="utf-8"))
    text = template.substitute(meeting_one=MEETING_ONE.isoformat())
    return {u["username"]: u["password"] for u in tomllib.loads(text)["user"]}


# Input validation does not depend on the database: those tests run on SQLite alone.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
# Behaviour that only PostgreSQL has (a server, prepared statements, transaction ids).
POSTGRES_ONLY = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)]
)
# Both databases for a test using the multi-process fixtures (tests/conftest.py
# MULTI_PROCESS), which otherwise run on PostgreSQL alone: where the SQL differs per database.
BOTH_BACKENDS = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)


def require(service: str, ok: bool, why: str = "") -> None:
    """A missing service fails the test in CI and skips it on a developer's machine."""
    if ok:
        return
    message = f"{service} is not available{': ' + why if why else ''}"
    if CI:
        pytest.fail(message)
    pytest.skip(message)


def postgres_up() -> bool:
    try:
        with socket.create_connection((PG_HOST, 5432), timeout=1):
            return True
    except OSError:
        return False


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _seed(url: str) -> None:
    db = Database(url)
    try:
        await migrate(db.engine)
        await load_file(db, COMMUNITY)
    finally:
        await db.dispose()


# Used PostgreSQL databases dropped together (see Templates).
DROP_BATCH = 8


class Templates:
    """Migrated, seeded databases made once per test session and cloned per test.

    PostgreSQL clones are made and dropped off the tests' path, on threads of their own:
    while a test runs, the next one's database is copied from the template. Used ones are
    dropped DROP_BATCH at a time, together: PostgreSQL 15 runs a checkpoint for every
    DROP DATABASE (flushing every database's dirty pages, and full-page images in the WAL
    after it), and drops issued at once share one.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.sqlite_file: Path | None = None
        self.pg_name: str | None = None
        self.pg_jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-templates")
        self.pg_next: Future[str] | None = None
        self.pg_dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drops")
        self.pg_used: list[str] = []
        self.pg_used_lock = threading.Lock()  # module fixtures drop from threads of their own
        self.pg_drops: list[Future[None]] = []

    async def sqlite(self, dest: Path) -> str:
        if self.sqlite_file is None:
            path = self.workdir / "template.db"
            await _seed(f"sqlite+aiosqlite:///{path}")
            self.sqlite_file = path
        shutil.copy(self.sqlite_file, dest)
        return f"sqlite+aiosqlite:///{dest}"

    async def _pg_admin(self, sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def _clone(self) -> str:
        """A new database copied from the template (on the jobs thread)."""
        db = f"wp_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(self._pg_admin(f'CREATE DATABASE "{db}" TEMPLATE "{self.pg_name}"'))
        return f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{db}"

    async def postgres(self) -> str:
        if self.pg_name is None:
            name = f"wp_template_{uuid.uuid4().hex[:10]}"
            await self._pg_admin(f'CREATE DATABASE "{name}"')
            await _seed(f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}")
            self.pg_name = name
        ready = self.pg_next or self.pg_jobs.submit(self._clone)
        self.pg_next = self.pg_jobs.submit(self._clone)
        return await asyncio.wrap_future(ready)

    def _drop(self, names: list[str]) -> None:
        """Drop these databases at once (on the drops thread; connections are forced out)."""

        async def drop_all() -> None:
            await asyncio.gather(
                *(self._pg_admin(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)') for n in names)
            )

        asyncio.run(drop_all())

    async def drop_postgres(self, url: str) -> None:
        """Drop the test's database in the background, with the next few used ones."""
        with self.pg_used_lock:
            self.pg_used.append(url.rsplit("/", 1)[1])
            if len(self.pg_used) < DROP_BATCH:
                return
            batch, self.pg_used = self.pg_used, []
        self.pg_drops.append(self.pg_dropper.submit(self._drop, batch))

    def cleanup(self) -> None:
        if self.pg_next is not None:
            with contextlib.suppress(Exception):
                self.pg_used.append(self.pg_next.result().rsplit("/", 1)[1])
        self.pg_jobs.shutdown(wait=True)
        if self.pg_used:
            self.pg_drops.append(self.pg_dropper.submit(self._drop, self.pg_used))
        self.pg_dropper.shutdown(wait=True)
        for done in self.pg_drops:
            done.result()
        if self.pg_name is not None:
            asyncio.run(self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))


class DirectWrites:
    """How many texts the in-process servers' direct path wrote (the `direct_writes`
    fixture counts them)."""

    count = 0


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a server of the suite: a `Settings` made here reads no environment, so
    it takes the suite's cheap password hashing (tests/conftest.py) by name. At argon2's
    production cost every in-process login spent ~110 ms hashing (a rehash, the fixture
    hashes being cheap), most of an API test's time."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "login_window_seconds": 60,
        "argon2_time_cost": int(os.environ.get("WERKPLAATS_ARGON2_TIME_COST", "1")),
        "argon2_memory_kib": int(os.environ.get("WERKPLAATS_ARGON2_MEMORY_KIB", "8192")),
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_server(
    settings: Settings, *, clock: Clock = SYSTEM_CLOCK, **options: Any
) -> AsyncIterator[str]:
    """A real uvicorn server in this process on a free loopback port; yields its base URL.
    `clock` drives its real-time timers; `options` add to or replace uvicorn's (e.g. `http=`
    a protocol class)."""
    config = uvicorn.Config(
        create_app(settings, clock=clock),
        **{
            "host": "127.0.0.1",
            "port": 0,
            "log_level": "warning",
            "access_log": False,
            "ws_per_message_deflate": False,
            "ws_max_size": settings.max_frame_bytes,
            "ws": "web.wsclose:ClosingSansIOProtocol",
            "lifespan": "on",
            **options,
        },
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("server stopped during start-up")
                await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.exit_now.set()
        async with asyncio.timeout(20):
            await task


class _Server(uvicorn.Server):
    """uvicorn's server, woken at once when told to exit: its loop looks at `should_exit`
    every 0.1 s, which every test that runs a server would wait half of on average."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_now = asyncio.Event()

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self.exit_now.wait()

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        """uvicorn's shutdown without its fixed 0.1 s pause and 0.1 s polls, which every test
        that runs a server paid (~0.1–0.2 s a test): the same steps, looked at every 5 ms."""
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        async with asyncio.timeout(20):
            while self.server_state.connections or self.server_state.tasks:
                await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


def servers_env(db_url: str, redis_url: str, redis_prefix: str, log_dir: Path) -> dict[str, str]:
    """The environment of `werkplaats serve` processes sharing a test's database and Redis."""
    return {
        "WERKPLAATS_DATABASE_URL": db_url,
        "WERKPLAATS_REDIS_URL": redis_url,
        "WERKPLAATS_REDIS_PREFIX": redis_prefix,
        "WERKPLAATS_TEST_LOG_DIR": str(log_dir),
        "WERKPLAATS_LOG_LEVEL": "WARNING",
    }


class ServerProcess:
    """`werkplaats serve` as its own OS process, as in production."""

    def __init__(self, env: dict[str, str], port: int | None = None, workers: int = 1) -> None:
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | forkserver.Forked | None = None
        self.log = Path(env.get("WERKPLAATS_TEST_LOG_DIR", "/tmp")) / f"werkplaats-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = ["serve", "--port", str(self.port), "--workers", str(self.workers)]
        # One process: forked from this worker's preloaded one (tests/forkserver.py). Several:
        # uvicorn spawns fresh interpreters for the workers anyway.
        if self.workers == 1 and "PROMETHEUS_MULTIPROC_DIR" not in self.env:
            self.proc = forkserver.spawn(argv, self.env, ROOT, self.log)
            if self.proc is not None:
                return
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [WERKPLAATS, *argv], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server on {self.port} did not start: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = 15) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


async def login(client: httpx.AsyncClient, base: str, username: str) -> str:
    """Log in as a fixture user; returns the bearer token."""
    r = await client.post(
        f"{base}/api/session", json={"username": username, "password": password_of(username)}
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def redis_flush_prefix(url: str, prefix: str) -> None:
    redis = Redis.from_url(url)
    try:
        async for key in redis.scan_iter(f"{prefix}:*"):
            await redis.delete(key)
    finally:
        await redis.aclose()

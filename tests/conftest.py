"""Fixtures: one test body runs against SQLite and PostgreSQL through `db_url`."""

from __future__ import annotations

import functools
import os
import ssl

# Cheap password hashing for the whole suite (and the servers it starts); set before `web`
# is imported. Production keeps argon2's defaults.
os.environ.setdefault("WERKPLAATS_ARGON2_TIME_COST", "1")
os.environ.setdefault("WERKPLAATS_ARGON2_MEMORY_KIB", "8192")
# `werkplaats serve` requires a session key; the servers the suite starts inherit this one.
os.environ.setdefault("WERKPLAATS_SECRET_KEY", "test-suite-secret-key-0123456789")

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from persistence.db import Database
from tests.clients import Api, OpenClient, client_factory
from tests.helpers import (
    PG_HOST,
    REDIS_URL,
    DirectWrites,
    Templates,
    make_settings,
    postgres_up,
    redis_up,
    require,
    running_server,
)
from tests.net.faultproxy import FaultProxy, proxying
from web import internals
from web.settings import Settings

# The `smtp` fixture: a local mail server that keeps what it receives.
pytest_plugins = ("tests.mailbox",)

HERE = Path(__file__).resolve().parent


def share_default_ssl_context() -> None:
    """httpx builds an SSL context for every client it makes, reading certifi's whole CA
    bundle (25 ms of CPU), also for plain-HTTP calls on loopback; the suite makes thousands
    (each `httpx.get`, each poll while a server starts). Clients with the default
    verification share one context here; any other `verify=` is left as it is."""
    from httpx._transports import default

    make = default.create_ssl_context

    @functools.cache
    def shared(trust_env: bool, cafile: str | None, capath: str | None) -> ssl.SSLContext:
        return make(verify=True, trust_env=trust_env)  # reads the two variables itself

    def create(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is True and cert is None:
            env = os.environ
            return shared(trust_env, env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR"))
        return make(verify=verify, cert=cert, trust_env=trust_env)

    default.create_ssl_context = create


share_default_ssl_context()
# Shared fixtures that cost nothing to make twice: they do not pin tests to a worker.
CHEAP_SHARED = frozenset({"templates", "clamd_port", "s3_endpoint", "ca"})
# Fixtures that run `werkplaats serve` processes sharing one database. Tests using them run
# on PostgreSQL alone (the backend several machines share); the same code paths run on both
# databases in the single-process tests. A test that parametrizes `backend` itself keeps
# its own choice (a multi-process test whose SQL differs per database lists both).
MULTI_PROCESS = frozenset({"start_servers", "two_servers", "cluster_env", "two_workers"})
# The browser tests run in this many groups (by file), each with its own server process
# and chromium on the worker that takes it, so they need not all wait for one worker.
BROWSER_GROUPS = int(os.environ.get("WERKPLAATS_TEST_BROWSER_GROUPS", "1"))
# Modules that add bridges and links to this machine's network (tests/net/topology.py).
# Chromium takes that for a network change and drops every request in flight
# (ERR_NETWORK_CHANGED), so they join the first browser group: after those tests, on the
# same worker (with more than one group, beside the others' tests again).
NETWORK_CHANGERS = frozenset({"test_topology.py", "test_rolling_upgrade.py"})


def worker_group(item: pytest.Item) -> str | None:
    """The tests that share a costly fixture (a server process, chromium) run on one worker
    under `--dist loadgroup`, so it starts once: the browser package (BROWSER_GROUPS groups
    of files), the security suite's session server, and each module with a module-scoped
    server. None: any worker."""
    path = Path(str(item.fspath)).resolve().relative_to(HERE)
    if path.parts[0] == "browser":
        return f"browser-{browser_files().index(path.name) % BROWSER_GROUPS}"
    if path.parts[0] == "net" and path.name in NETWORK_CHANGERS:
        return "browser-0"
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for name, defs in info.name2fixturedefs.items():
        # The suite's own fixtures only (not a plugin's, such as pytest-asyncio's).
        if name in CHEAP_SHARED or not defs or not defs[-1].func.__module__.startswith("tests"):
            continue
        scope = defs[-1].scope
        if scope == "session":
            return f"session-{name}"
        if scope in ("module", "package"):
            return str(path)
    return None


@functools.cache
def browser_files() -> list[str]:
    """The browser test files, by name: their order splits them over the groups."""
    return sorted(p.name for p in (HERE / "browser").glob("test_*.py"))


def parametrizes(metafunc: pytest.Metafunc, argname: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if argname in names:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Multi-process tests (MULTI_PROCESS) run on PostgreSQL unless they choose themselves."""
    names = set(metafunc.fixturenames)
    if "backend" in names and names & MULTI_PROCESS and not parametrizes(metafunc, "backend"):
        metafunc.definition.add_marker(
            pytest.mark.parametrize(
                "backend", [pytest.param("postgres", marks=pytest.mark.postgres)]
            )
        )


def in_group(item: pytest.Item, group: str) -> None:
    """Name the item `nodeid@group`, as pytest-xdist's worker does for `xdist_group`: its own
    renaming (of `Item._nodeid`) no longer reaches pytest 9, whose nodes keep `_id`, so the
    groups would be split across workers."""
    if "@" not in item.nodeid and hasattr(item, "_id"):
        from _pytest.nodeid import coerce_node_id

        item._id = coerce_node_id(f"{item.nodeid}@{group}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    first: set[str] = set()
    grouping = bool(getattr(config.option, "loadgroup", False))
    for item in items:
        group = worker_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
            if grouping:
                in_group(item, group)
        elif item.get_closest_marker("slow") is not None:
            first.add(item.nodeid)
    # Longest first: the multi-process tests that share nothing start before the quick ones,
    # so the two workers end together (the groups, largest first, go before them all).
    items.sort(key=lambda item: item.nodeid not in first)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    t = Templates(tmp_path_factory.mktemp("templates"))
    yield t
    t.cleanup()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db_url(backend: str, templates: Templates, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database seeded with the fixture community (tests/helpers.py COMMUNITY)."""
    if backend == "sqlite":
        yield await templates.sqlite(tmp_path / "test.db")
        return
    require("PostgreSQL", postgres_up(), "127.0.0.1:5432")
    url = await templates.postgres()
    try:
        yield url
    finally:
        await templates.drop_postgres(url)


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
def redis_url() -> str:
    require("Redis", redis_up(), "127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[FaultProxy]:
    """A fault proxy (tests/net/faultproxy.py) in front of the test Redis; its `connections`
    counts what was opened through it."""
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    async with proxying("redis", (host, int(port))) as proxy:
        yield proxy


@pytest.fixture
async def pg_proxy() -> AsyncIterator[FaultProxy]:
    """A fault proxy (tests/net/faultproxy.py) in front of the test PostgreSQL."""
    require("PostgreSQL", postgres_up(), "127.0.0.1:5432")
    async with proxying("postgres", (PG_HOST, 5432)) as proxy:
        yield proxy


@pytest.fixture
def redis_prefix() -> str:
    """A key and channel prefix of this test's own, so runs never share Redis state."""
    return f"wptest{uuid.uuid4().hex[:8]}"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[str]:
    """A real uvicorn serving the app in this process; yields the base URL."""
    async with running_server(settings) as base:
        yield base


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


@pytest.fixture
def direct_writes(monkeypatch: pytest.MonkeyPatch) -> DirectWrites:
    """Counts what in-process servers write to their sockets by the direct path."""
    writes = DirectWrites()
    original = internals.SansIODirect.write_text

    def counting(self: internals.SansIODirect, data: str) -> None:
        writes.count += 1
        original(self, data)

    monkeypatch.setattr(internals.SansIODirect, "write_text", counting)
    return writes


@pytest.fixture
def api(server: str, client: httpx.AsyncClient) -> Api:
    """Calls this test's server as the fixture users."""
    return Api(client, server)


@pytest.fixture
async def open_client() -> AsyncIterator[OpenClient]:
    """A factory: `await open_client(base, "ann")` logs in and connects; all closed at the end."""
    async with client_factory() as make:
        yield make

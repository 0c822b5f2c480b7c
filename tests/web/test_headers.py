"""Security headers against real servers: CSP connect-src, HSTS, no-store on the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import (
    ServerProcess,
    Templates,
    bearer,
    free_port,
    login,
    make_settings,
    require,
    running_server,
)
from tests.ops.tls import client_context, make_certificate
from web.app import create_app
from web.settings import Settings


def connect_src(response: httpx.Response) -> list[str]:
    """The sources of the CSP's connect-src directive."""
    for directive in response.headers["content-security-policy"].split(";"):
        name, *sources = directive.split()
        if name == "connect-src":
            return sources
    raise AssertionError("no connect-src")


@pytest.fixture
async def sqlite_url(templates: Templates, tmp_path: Path) -> str:
    return await templates.sqlite(tmp_path / "headers.db")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


@asynccontextmanager
async def tls_server(settings: Settings, cert: Path, key: Path) -> AsyncIterator[str]:
    """A real uvicorn server over TLS in this process; yields its https base URL."""
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("server stopped during start-up")
                await asyncio.sleep(0.02)
        yield f"https://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(20):
            await task


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """A factory: `serve(**env)` starts `werkplaats serve` on a fresh SQLite file."""
    started: list[ServerProcess] = []

    def make(**extra: str) -> ServerProcess:
        env = {
            "WERKPLAATS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / f'db{len(started)}.sqlite'}",
            "WERKPLAATS_REDIS_URL": "",
            "WERKPLAATS_TEST_LOG_DIR": str(tmp_path),
            **extra,
        }
        proc = ServerProcess(env)
        started.append(proc)
        proc.start()
        proc.wait_ready()
        return proc

    yield make
    for proc in started:
        proc.stop()


async def test_connect_src_names_only_the_public_urls_websocket(
    sqlite_url: str, client: httpx.AsyncClient
) -> None:
    """With a public URL, connect-src allows 'self' and that host's wss:// alone."""
    settings = make_settings(sqlite_url, public_url="https://werkplaats.example.nl")
    async with running_server(settings) as base:
        r = await client.get(f"{base}/")
    assert connect_src(r) == ["'self'", "wss://werkplaats.example.nl"]


async def test_connect_src_lists_each_allowed_origin(
    sqlite_url: str, client: httpx.AsyncClient
) -> None:
    """Allowed origins become their ws:// or wss:// forms; no bare ws: or wss: scheme."""
    origins = ("https://a.example.nl", "http://b.example.nl:8080")
    async with running_server(make_settings(sqlite_url, allowed_origins=origins)) as base:
        r = await client.get(f"{base}/healthz")
    assert connect_src(r) == ["'self'", "wss://a.example.nl", "ws://b.example.nl:8080"]


async def test_connect_src_without_configuration_is_the_listening_origin(
    sqlite_url: str, client: httpx.AsyncClient
) -> None:
    """With no origin configured, connect-src is the address the server listens on."""
    async with running_server(make_settings(sqlite_url)) as base:
        r = await client.get(f"{base}/api/me")
    port = base.rsplit(":", 1)[1]
    assert connect_src(r) == ["'self'", f"ws://127.0.0.1:{port}", f"ws://localhost:{port}"]


async def test_hsts_over_tls(sqlite_url: str, tmp_path: Path) -> None:
    """A server reached over TLS sends Strict-Transport-Security."""
    cert, key = make_certificate(tmp_path)
    async with (
        tls_server(make_settings(sqlite_url), cert, key) as base,
        httpx.AsyncClient(verify=client_context(cert), timeout=10) as http,
    ):
        r = await http.get(f"{base}/healthz")
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    assert connect_src(r)[1].startswith("wss://127.0.0.1:")


async def test_no_hsts_over_plain_http(sqlite_url: str, client: httpx.AsyncClient) -> None:
    """Over plain http there is no Strict-Transport-Security (a browser would ignore it)."""
    async with running_server(make_settings(sqlite_url)) as base:
        r = await client.get(f"{base}/healthz")
    assert "strict-transport-security" not in r.headers


def test_hsts_behind_a_trusted_proxy_that_says_https(serve: Any) -> None:
    """`werkplaats serve` behind a trusted proxy with X-Forwarded-Proto: https sends HSTS."""
    server = serve(WERKPLAATS_TRUSTED_PROXIES="127.0.0.1")
    r = httpx.get(f"{server.url}/healthz", headers={"X-Forwarded-Proto": "https"}, timeout=5)
    assert r.headers["strict-transport-security"] == "max-age=31536000"


def test_no_hsts_when_an_untrusted_peer_says_https(serve: Any) -> None:
    """X-Forwarded-Proto from a peer outside WERKPLAATS_TRUSTED_PROXIES changes nothing."""
    server = serve(WERKPLAATS_TRUSTED_PROXIES="10.0.0.0/8")
    r = httpx.get(f"{server.url}/healthz", headers={"X-Forwarded-Proto": "https"}, timeout=5)
    assert r.status_code == 200
    assert "strict-transport-security" not in r.headers


async def test_api_answers_are_not_stored(sqlite_url: str, client: httpx.AsyncClient) -> None:
    """An authenticated API answer carries Cache-Control: no-store."""
    async with running_server(make_settings(sqlite_url)) as base:
        token = await login(client, base, "ann")
        r = await client.get(f"{base}/api/me", headers=bearer(token))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"


async def test_static_and_index_keep_their_caching(
    sqlite_url: str, client: httpx.AsyncClient
) -> None:
    """Static files and the page are not marked no-store (the page revalidates)."""
    async with running_server(make_settings(sqlite_url)) as base:
        static = await client.get(f"{base}/static/app.js")
        page = await client.get(f"{base}/")
    assert static.status_code == page.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")
    assert page.headers["cache-control"] == "no-cache"


@pytest.mark.browser
def test_chromium_refuses_a_websocket_to_another_host(serve: Any) -> None:
    """In chromium the page may open /ws on its own origin, and no WebSocket elsewhere."""
    require("chromium", Path(CHROMIUM).exists(), CHROMIUM)
    from playwright.sync_api import sync_playwright

    server = serve()
    other = f"ws://127.0.0.1:{free_port()}/ws"
    probe = """async (url) => {
        const seen = [];
        document.addEventListener('securitypolicyviolation', (e) => seen.push(e.blockedURI));
        for (const target of [`ws://${location.host}/ws`, url]) {
            try { new WebSocket(target).onerror = () => {}; } catch (e) { seen.push('threw'); }
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        return seen;
    }"""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page()
            page.goto(f"{server.url}/", timeout=20_000)
            refused = page.evaluate(probe, other)
        finally:
            browser.close()
    assert refused and all(other.removesuffix("/ws") in uri or uri == "threw" for uri in refused)

"""Hardening: login throttling, security headers, secret-free logs, stored token hashes."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.sync.client import connect as sync_connect

from persistence.db import Database
from tests.helpers import (
    ServerProcess,
    Templates,
    bearer,
    login,
    make_settings,
    password_of,
    running_server,
    token_for,
)
from web.auth import token_hash
from web.logs import KeyValueFormatter

SECRET = "hardening-tests-secret-key"


@pytest.fixture
async def sqlite_url(templates: Templates, tmp_path: Path) -> str:
    return await templates.sqlite(tmp_path / "hardening.db")


@pytest.fixture
async def base(sqlite_url: str) -> AsyncIterator[str]:
    """An in-process server with the default login throttling (5 failures a pair per 60 s)."""
    async with running_server(make_settings(sqlite_url, secret_key=SECRET)) as url:
        yield url


async def bad_login(http: httpx.AsyncClient, base: str, username: str) -> httpx.Response:
    return await http.post(
        f"{base}/api/session", json={"username": username, "password": "wrong-password"}
    )


async def test_brute_force_on_a_username_is_throttled(base: str, client: httpx.AsyncClient) -> None:
    """After 5 wrong passwords: 429 `rate_limited` with Retry-After, even for the right one."""
    for _ in range(5):
        r = await bad_login(client, base, "ann")
        assert r.status_code == 401 and r.json()["error"]["code"] == "bad_credentials"
    for password in ("wrong-password", password_of("ann")):
        r = await client.post(f"{base}/api/session", json={"username": "ann", "password": password})
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert "set-cookie" not in r.headers


async def test_spraying_usernames_from_one_address_is_throttled(
    sqlite_url: str, client: httpx.AsyncClient
) -> None:
    """Failures for many usernames up to the address's limit block it, also for another user."""
    settings = make_settings(sqlite_url, secret_key=SECRET, login_address_max_failures=5)
    async with running_server(settings) as base:
        for name in ("nobody1", "nobody2", "ann", "bob", "nobody3"):
            assert (await bad_login(client, base, name)).status_code == 401
        r = await client.post(
            f"{base}/api/session", json={"username": "amy", "password": password_of("amy")}
        )
    assert r.status_code == 429 and "retry-after" in r.headers


async def test_unknown_user_and_wrong_password_look_the_same(
    base: str, client: httpx.AsyncClient
) -> None:
    """An unknown user and a wrong password get the same status, code and message."""
    unknown = await bad_login(client, base, "no-such-user")
    wrong = await bad_login(client, base, "ann")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/me", "/api/rooms/nope/events", "/nope"])
async def test_security_headers_on_every_response(
    base: str, client: httpx.AsyncClient, path: str
) -> None:
    """CSP with frame-ancestors 'none', nosniff, no-referrer, DENY: also on errors."""
    r = await client.get(f"{base}{path}")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"


def test_served_headers_name_no_server_software(served: ServerProcess) -> None:
    """`werkplaats serve` sends no `Server: uvicorn` and still all security headers."""
    r = httpx.get(f"{served.url}/healthz", timeout=5)
    assert "server" not in r.headers
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_session_cookie_flags(base: str, client: httpx.AsyncClient) -> None:
    """The session cookie is HttpOnly and SameSite=Lax."""
    r = await client.post(
        f"{base}/api/session", json={"username": "ann", "password": password_of("ann")}
    )
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


async def test_database_keeps_only_a_keyed_hash(
    base: str, sqlite_url: str, client: httpx.AsyncClient
) -> None:
    """The sessions table holds HMAC-SHA-256(secret key, token), never the token."""
    token = await login(client, base, "ann")
    db = Database(sqlite_url)
    try:
        async with db.read() as session:
            stored = (await session.execute(text("SELECT token_hash FROM sessions"))).scalars()
            hashes = list(stored)
    finally:
        await db.dispose()
    assert token not in hashes
    assert token_hash(token, SECRET) in hashes
    assert token_hash(token, "another-secret-key-16") not in hashes


async def test_logs_hold_no_secrets_bodies_or_raw_control_characters(
    base: str, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Log lines of logins, sends and odd paths: no password, token or body; controls escaped."""
    caplog.set_level(logging.INFO)  # the production default
    body = "Geheim-bericht-7f3a over de\x1b[31m polder\r\nFAKE LOG LINE"
    await bad_login(client, base, "ann\r\nFAKE")
    token = await login(client, base, "amy")
    await client.get(f"{base}/api/rooms/%0d%0aFAKE%1b[0m/events", headers=bearer(token))
    await client.get(f"{base}/api/me?q=zoekterm-geheim", headers=bearer(token))
    ws_url = "ws" + base.removeprefix("http") + "/ws"
    async with connect(ws_url, additional_headers=bearer(token)) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribe", "room": "area-a", "since": None}))
        await ws.send(
            json.dumps({"type": "send", "room": "area-a", "body": body, "client_id": "k"})
        )
        await ws.send(
            json.dumps({"type": "send", "room": "area-b", "body": body, "client_id": "j"})
        )
        await ws.send('{"type":"bogus\\r\\nFAKE"}')
        got: list[dict[str, Any]] = []
        while not any(f.get("type") == "ack" for f in got):
            got += [json.loads(line) for line in str(await ws.recv()).split("\n")]
    await client.delete(f"{base}/api/session", headers=bearer(token))
    # The test's own clients (httpx, websockets.client) are not the server.
    client_side = ("httpx", "httpcore", "websockets.client")
    # As written (web/logs.py): the message and every field, one line each.
    shown = KeyValueFormatter()
    lines = [shown.format(r) for r in caplog.records if not r.name.startswith(client_side)]
    assert any(" msg=request method=" in line for line in lines), "no request log lines"
    joined = "\n".join(lines)
    for secret in (password_of("amy"), "wrong-password", token, "Geheim-bericht", "zoekterm"):
        assert secret not in joined, f"{secret!r} appears in the log"
    for line in lines:
        assert "\r" not in line and "\x1b" not in line, line
        assert "\nFAKE" not in line, line


def test_served_log_holds_no_secrets(served: ServerProcess) -> None:
    """The INFO log of a `werkplaats serve` process after logins and sends: no secret, no body."""
    token = token_for(served.url, "bob")
    httpx.post(f"{served.url}/api/session", json={"username": "bob", "password": "n0t-it"})
    body = "Vertrouwelijk-9c1e over de dijk"
    with sync_connect(
        "ws" + served.url.removeprefix("http") + "/ws",
        additional_headers=bearer(token),
        legacy=True,
    ) as ws:
        ws.recv(timeout=10)
        ws.send(json.dumps({"type": "send", "room": "area-b", "body": body, "client_id": "z"}))
        while "ack" not in str(ws.recv(timeout=10)):
            pass
    log = served.log.read_text(errors="replace")
    assert "msg=request method=POST path=/api/session" in log, "no requests logged at INFO"
    for secret in (token, password_of("bob"), "n0t-it", "Vertrouwelijk-9c1e"):
        assert secret not in log

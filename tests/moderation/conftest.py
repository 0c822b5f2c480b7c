"""Fixtures of the moderation tests: an API caller per user, messages to act on, /ws clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from chat.client import Client
from persistence.db import Database
from persistence.models import AuditEntry
from persistence.rooms import room_by_slug
from tests.helpers import ServerProcess, bearer, login
from tests.persistence import posting

OpenClient = Callable[[str, str], Awaitable[Client]]
# Input validation does not depend on the database: run those tests on SQLite alone.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


class Api:
    """Calls the server as a fixture user; logs each user in once."""

    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self.client = client
        self.base = base
        self.tokens: dict[str, str] = {}

    async def token(self, username: str) -> str:
        if username not in self.tokens:
            self.tokens[username] = await login(self.client, self.base, username)
            # Bearer only: a cookie left in the jar would authenticate "logged-out" calls.
            self.client.cookies.clear()
        return self.tokens[username]

    async def call(
        self, username: str | None, method: str, path: str, body: Any = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if username is not None:
            headers.update(bearer(await self.token(username)))
        return await self.client.request(
            method, f"{self.base}{path}", json=body, headers=headers, **kw
        )

    async def events(self, username: str, room: str) -> list[dict[str, Any]]:
        r = await self.call(username, "GET", f"/api/rooms/{room}/events?after=0")
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()["events"]
        return found


@pytest.fixture
async def api(server: str, client: httpx.AsyncClient) -> AsyncIterator[Api]:
    yield Api(client, server)


@pytest.fixture
async def open_client() -> AsyncIterator[OpenClient]:
    """A factory: `await open_client(base, "ann")` logs in and connects; all closed at the end."""
    opened: list[Client] = []

    async def make(base: str, username: str) -> Client:
        async with httpx.AsyncClient(timeout=10) as http:
            token = await login(http, base, username)
        ws = Client(base, token)
        await ws.connect()
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        with contextlib.suppress(Exception):
            await ws.close()


async def post(database: Database, room: str, username: str, body: str) -> int:
    """Store a message as `username` in `room`; returns its id."""
    async with database.read() as session:
        found = await room_by_slug(session, room)
        assert found is not None
        n = found.last_seq + 1
    return (await posting.post(database, room, username, body, f"t-{n}")).message_id


async def audit_rows(database: Database, action: str | None = None) -> list[AuditEntry]:
    async with database.read() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list((await session.execute(query)).scalars())


@pytest.fixture
async def two_servers(
    db_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two `werkplaats serve` processes sharing this test's database and a Redis prefix."""
    env = {
        "WERKPLAATS_DATABASE_URL": db_url,
        "WERKPLAATS_REDIS_URL": redis_url,
        "WERKPLAATS_REDIS_PREFIX": redis_prefix,
        "WERKPLAATS_TEST_LOG_DIR": str(tmp_path),
        "WERKPLAATS_LOG_LEVEL": "WARNING",
    }
    procs = (ServerProcess(env), ServerProcess(env))
    try:
        for proc in procs:
            proc.start()
        await asyncio.gather(*(asyncio.to_thread(p.wait_ready, 60) for p in procs))
        yield procs
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop, 15) for p in procs))

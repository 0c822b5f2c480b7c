"""Sessions and passwords: expiry, throttling per address, rehash, readiness."""

from __future__ import annotations

from datetime import timedelta

import httpx
from argon2 import PasswordHasher
from sqlalchemy import select, update

from persistence.db import Database
from persistence.models import Session, User, utcnow
from tests.helpers import bearer, login, make_settings, password_of, running_server
from web.passwords import needs_rehash, verify_password


async def test_expired_session_is_unauthenticated(
    server: str, client: httpx.AsyncClient, database: Database
) -> None:
    """A session past its expiry no longer authenticates."""
    token = await login(client, server, "ann")
    async with database.write() as s:
        await s.execute(update(Session).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = await client.get(f"{server}/api/me", headers=bearer(token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"


async def test_session_valid_on_another_server_process(
    db_url: str, client: httpx.AsyncClient
) -> None:
    """A token from one server works on another sharing the database (and after a restart)."""
    settings = make_settings(db_url)
    async with running_server(settings) as one:
        token = await login(client, one, "ann")
    async with running_server(settings) as two:
        r = await client.get(f"{two}/api/me", headers=bearer(token))
        assert r.status_code == 200


async def test_failures_counted_per_client_address(db_url: str, client: httpx.AsyncClient) -> None:
    """Spraying many usernames from one address is throttled too (past the address's limit)."""
    statuses = []
    async with running_server(make_settings(db_url, login_address_max_failures=5)) as server:
        for i in range(7):
            r = await client.post(
                f"{server}/api/session", json={"username": f"user{i}", "password": "x"}
            )
            statuses.append(r.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429


async def test_password_with_old_parameters_is_rehashed_on_login(
    server: str, client: httpx.AsyncClient, database: Database
) -> None:
    """A hash made with other argon2 parameters is replaced at the next successful login."""
    weak = PasswordHasher(time_cost=2, memory_cost=4096, parallelism=1).hash(password_of("amy"))
    async with database.write() as s:
        await s.execute(update(User).where(User.username == "amy").values(password_hash=weak))
    await login(client, server, "amy")
    async with database.read() as s:
        stored = (
            await s.execute(select(User.password_hash).where(User.username == "amy"))
        ).scalar_one()
    assert stored != weak
    assert stored is not None and not needs_rehash(stored)
    assert verify_password(stored, password_of("amy"))


async def test_readyz_is_503_when_the_database_is_down(client: httpx.AsyncClient) -> None:
    """/readyz reports 503 and which part failed; /healthz still answers."""
    settings = make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    async with running_server(settings) as base:
        r = await client.get(f"{base}/readyz")
        assert r.status_code == 503 and r.json()["database"] is False
        assert (await client.get(f"{base}/healthz")).status_code == 200

"""Fixtures of the moderation tests: messages to act on, audit rows, two server processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from persistence.db import Database
from persistence.models import AuditEntry
from persistence.rooms import room_by_slug
from tests.helpers import ServerProcess, servers_env
from tests.persistence import posting


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
    env = servers_env(db_url, redis_url, redis_prefix, tmp_path)
    procs = (ServerProcess(env), ServerProcess(env))
    try:
        for proc in procs:
            proc.start()
        await asyncio.gather(*(asyncio.to_thread(p.wait_ready, 60) for p in procs))
        yield procs
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop, 15) for p in procs))

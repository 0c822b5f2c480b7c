"""Storms against a real `werkplaats serve`: 1,000 logins, or 1,000 WebSocket upgrades, at
once; every answer is 200 (101) or 503 with `Retry-After`, never 500 (issue 20, item 6).

The logins run with argon2 parameters other than those the stored hashes were made with, so
that they rehash: the hashing must stay outside the write transaction and the pool.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from persistence.db import Database
from persistence.models import User
from tests.helpers import ServerProcess, login

STORM = 1000
# Users whose first login rehashes: enough that rehashing inside the write used to exhaust the
# database pool (HTTP 500 after 30 s).
STORM_USERS = 300
STORM_PASSWORD = "storm-password"
# Stored with these (the suite's costs), served with time cost 2: every first login rehashes.
STORED = PasswordHasher(time_cost=1, memory_cost=8192)
SERVED = PasswordHasher(time_cost=2, memory_cost=8192)


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """`werkplaats serve` on the test's database, hashing with other parameters than stored."""
    proc = ServerProcess(
        {
            "WERKPLAATS_DATABASE_URL": db_url,
            "WERKPLAATS_REDIS_URL": "",
            "WERKPLAATS_ARGON2_TIME_COST": str(SERVED.time_cost),
            "WERKPLAATS_ARGON2_MEMORY_KIB": str(SERVED.memory_cost),
            # The storm comes from one address as one user: the storm, not these limits, is tested.
            "WERKPLAATS_WS_MAX_PER_USER": "100000",
            "WERKPLAATS_WS_MAX_PER_ADDRESS": "1000000",
            "WERKPLAATS_TEST_LOG_DIR": str(tmp_path),
        }
    )
    proc.start()
    try:
        proc.wait_ready(60)
        yield proc
    finally:
        proc.stop()


async def add_storm_users(db_url: str) -> None:
    """STORM_USERS users whose hashes have the old parameters (one hash: the same password)."""
    stored = STORED.hash(STORM_PASSWORD)
    db = Database(db_url)
    try:
        async with db.write() as s:
            s.add_all(
                User(username=f"storm{i}", display_name=f"Storm {i}", password_hash=stored)
                for i in range(STORM_USERS)
            )
    finally:
        await db.dispose()


async def stored_hashes(db_url: str) -> dict[str, str | None]:
    db = Database(db_url)
    try:
        async with db.read() as s:
            rows = await s.execute(select(User.username, User.password_hash))
            return {name: stored for name, stored in rows.all()}
    finally:
        await db.dispose()


async def post_login(port: int, username: str) -> tuple[int, dict[str, str]]:
    """One login over its own connection: the status and the headers."""
    body = orjson.dumps({"username": username, "password": STORM_PASSWORD})
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    finally:
        writer.close()
    status = int(head.split(" ", 2)[1])
    headers = dict(
        (k.strip().lower(), v.strip())
        for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])
        if k
    )
    return status, headers


def assert_no_server_errors(proc: ServerProcess) -> None:
    log = proc.log.read_text(errors="replace")
    assert not re.search(r"Traceback|QueuePool|Internal Server Error| 500 ", log), log[-3000:]


@pytest.mark.soak  # a long form: make soak-tests
async def test_a_login_storm_gets_200_or_503_while_hashes_are_upgraded(
    db_url: str, served: ServerProcess
) -> None:
    """1,000 logins at once, rehashing: 200 or 503 with Retry-After, never 500."""
    await add_storm_users(db_url)
    async with asyncio.timeout(90):
        answers = await asyncio.gather(
            *(post_login(served.port, f"storm{i % STORM_USERS}") for i in range(STORM))
        )
    codes = Counter(status for status, _ in answers)
    assert set(codes) <= {200, 503}, codes
    assert codes[200] > 0
    assert all(int(h["retry-after"]) >= 1 for status, h in answers if status == 503)
    stored = await stored_hashes(db_url)
    logged_in = {
        f"storm{i % STORM_USERS}" for i, (status, _) in enumerate(answers) if status == 200
    }
    assert all(not SERVED.check_needs_rehash(stored[name] or "") for name in logged_in)
    assert_no_server_errors(served)


async def upgrade(port: int, token: str) -> tuple[int, str | None]:
    """One `/ws` upgrade: 101 once `hello` arrived, else the refusal's status and Retry-After."""
    url = f"ws://127.0.0.1:{port}/ws"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with connect(url, additional_headers=headers, open_timeout=60) as ws:
            hello = orjson.loads(await asyncio.wait_for(ws.recv(), 60))
            assert hello["type"] == "hello"
            return 101, None
    except InvalidStatus as refused:
        return refused.response.status_code, refused.response.headers.get("retry-after")


@pytest.mark.soak  # a long form: make soak-tests
async def test_an_upgrade_storm_gets_101_or_503(db_url: str, served: ServerProcess) -> None:
    """1,000 WebSocket upgrades at once: set up, or 503 with Retry-After, never 500."""
    async with httpx.AsyncClient(timeout=30) as http:
        token = await login(http, served.url, "ann")
    async with asyncio.timeout(120):
        answers = await asyncio.gather(*(upgrade(served.port, token) for _ in range(STORM)))
    codes = Counter(status for status, _ in answers)
    assert set(codes) <= {101, 503}, codes
    assert codes[101] > 0
    assert all(retry is not None and int(retry) >= 1 for s, retry in answers if s == 503)
    assert_no_server_errors(served)

"""No argon2 work while a database connection is held: not at login (also when the hash is
upgraded), not in `werkplaats load` (issue 20, item 6)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from argon2 import extract_parameters
from sqlalchemy import event, select
from sqlalchemy.pool import Pool

import web.passwords as passwords
from persistence.db import Database
from persistence.models import User
from tests.helpers import COMMUNITY, make_settings, password_of, running_server
from web.cli import load_file


class Connections:
    """Pooled connections checked out in this process, seen at each argon2 call."""

    def __init__(self) -> None:
        self.out = 0
        self.seen: list[int] = []

    def checkout(self, *_: Any) -> None:
        self.out += 1

    def checkin(self, *_: Any) -> None:
        self.out -= 1


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[Connections]:
    """Counts checkouts; records the count whenever a password is hashed or verified."""
    conns = Connections()
    event.listen(Pool, "checkout", conns.checkout)
    event.listen(Pool, "checkin", conns.checkin)

    def watched(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            conns.seen.append(conns.out)
            return real(*args)

        return call

    monkeypatch.setattr(passwords, "hash_password", watched(passwords.hash_password))
    monkeypatch.setattr(passwords, "verify_password", watched(passwords.verify_password))
    try:
        yield conns
    finally:
        event.remove(Pool, "checkout", conns.checkout)
        event.remove(Pool, "checkin", conns.checkin)


async def settled(conns: Connections) -> int:
    """The checkouts once the server's start-up reads (key, levels, sweep) are over."""
    steady, last = 0, conns.out
    for _ in range(100):
        await asyncio.sleep(0.05)
        steady, last = (steady + 1, last) if conns.out == last else (0, conns.out)
        if steady >= 10:
            break
    return last


async def test_a_login_that_upgrades_its_hash_holds_no_connection_while_hashing(
    db_url: str, connections: Connections
) -> None:
    """Verify and rehash run while no pooled connection is checked out."""
    # A time cost other than the stored hash's: the login rehashes.
    db = Database(db_url)
    try:
        async with db.read() as s:
            stored = await s.scalar(select(User.password_hash).where(User.username == "ann"))
    finally:
        await db.dispose()
    assert stored is not None
    cost = extract_parameters(stored).time_cost + 1
    settings = make_settings(db_url, argon2_time_cost=cost, argon2_memory_kib=8192)
    async with running_server(settings) as base, httpx.AsyncClient(timeout=30) as http:
        idle = await settled(connections)
        r = await http.post(
            f"{base}/api/session", json={"username": "ann", "password": password_of("ann")}
        )
        assert r.status_code == 200
    assert len(connections.seen) == 2  # the verification and the new hash
    assert connections.seen == [idle, idle]


async def test_load_hashes_with_no_connection_held(db_url: str, connections: Connections) -> None:
    """`werkplaats load` verifies and hashes passwords before its write transaction opens."""
    db = Database(db_url)
    try:
        await load_file(db, COMMUNITY)
    finally:
        await db.dispose()
    assert connections.seen and set(connections.seen) == {0}

"""Consent requests live: a lesson made, answered, published, refused and withdrawn through
one server process reaches the listed authors' connections on the other at once
(`publication_request`, docs/protocol.md), and nobody else's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from persistence.db import Database
from tests.clients import Api, OpenClient
from tests.helpers import POSTGRES_ONLY, ServerProcess, servers_env
from tests.moderation.conftest import post
from tests.public.conftest import agree, make_lesson

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.fixture
async def two_servers(
    db_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two `werkplaats serve` processes on this test's database and a Redis prefix, started
    one after the other with room to start on a busy machine (as tests/moderation's)."""
    env = servers_env(db_url, redis_url, redis_prefix, tmp_path)
    procs = (ServerProcess(env), ServerProcess(env))
    try:
        for proc in procs:
            proc.start()
            await asyncio.to_thread(proc.wait_ready, 180)
        yield procs
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop, 15) for p in procs))


def about(pid: int, change: str) -> Any:
    return lambda f: (
        f.get("type") == "publication_request"
        and f.get("publication") == pid
        and f.get("change") == change
    )


@POSTGRES_ONLY
@pytest.mark.timeout(400)
async def test_requests_reach_the_authors_on_the_other_process(
    two_servers: tuple[ServerProcess, ServerProcess],
    open_client: OpenClient,
    database: Database,
) -> None:
    a, b = two_servers
    ann, amy, bob = [await open_client(a.url, u) for u in ("ann", "amy", "bob")]
    q = await post(database, "area-a", "ann", "Hoe krijgen we de boeren aan tafel?")
    r = await post(database, "area-a", "amy", "Begin bij de keukentafel.")
    async with httpx.AsyncClient(timeout=10) as http:
        on_a, on_b = Api(http, a.url), Api(http, b.url)
        pid = (await make_lesson(on_b, "rita", "area-a", [q, r]))["id"]
        for who in (ann, amy):
            frame = await who.wait_for(about(pid, "requested"), timeout=5)
            assert frame == {
                "type": "publication_request",
                "publication": pid,
                "change": "requested",
                "status": "pending",
            }
        # What the badge reads on A when the frame arrives: the new request.
        pending = (await on_a.get("ann", "/api/publications?mine=pending")).json()
        assert [p["id"] for p in pending["publications"]] == [pid]

        await agree(on_b, "ann", pid)
        await amy.wait_for(about(pid, "answered"), timeout=5)
        await ann.wait_for(about(pid, "answered"), timeout=5)
        assert (await on_a.get("ann", "/api/publications?mine=pending")).json() == {
            "publications": []
        }
        await agree(on_b, "amy", pid)
        published = await ann.wait_for(about(pid, "published"), timeout=5)
        assert published["status"] == "published"
        refused = await on_b.post("ann", f"/api/publications/{pid}/consent", {"consent": False})
        assert refused.status_code == 200, refused.text
        back = await amy.wait_for(about(pid, "unpublished"), timeout=5)
        assert back["status"] == "pending"
        gone = await on_b.call("rita", "DELETE", f"/api/publications/{pid}")
        assert gone.status_code == 204, gone.text
        for who in (ann, amy):
            withdrawn = await who.wait_for(about(pid, "withdrawn"), timeout=5)
            assert withdrawn["status"] == "withdrawn"
    assert not [f for f in bob.frames if f.get("type") == "publication_request"]

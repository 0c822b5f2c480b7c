"""Moderation on one `werkplaats serve` process takes effect on another within a second."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from chat.client import ClientError
from tests.clients import Api, OpenClient
from tests.helpers import ServerProcess
from web.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.redis]
POSTGRES_ONLY = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)]
)
WITHIN = 1.0  # seconds: the bound for "at once on every process"


@POSTGRES_ONLY
async def test_actions_reach_the_other_process_within_a_second(
    two_servers: tuple[ServerProcess, ServerProcess],
    open_client: OpenClient,
    db_url: str,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP actions on A and operator commands act on B's open connections within a second.

    (One test, because two server processes cost seconds to start.)
    """
    a, b = two_servers
    await http_actions(a, b, open_client)
    for name, value in (
        ("WERKPLAATS_DATABASE_URL", db_url),
        ("WERKPLAATS_REDIS_URL", redis_url),
        ("WERKPLAATS_REDIS_PREFIX", redis_prefix),
        ("WERKPLAATS_LOG_LEVEL", "WARNING"),
    ):
        monkeypatch.setenv(name, value)
    await command_actions(b, open_client)


async def http_actions(a: ServerProcess, b: ServerProcess, open_client: OpenClient) -> None:
    """Hide, topic, pin, mute, lock, ban and member removal on A act on B's connections."""
    async with httpx.AsyncClient(timeout=10) as http:
        api = Api(http, a.url)
        ann = await open_client(b.url, "ann")
        amy = await open_client(b.url, "amy")
        for ws in (ann, amy):
            await ws.subscribe("area-a", since=None)
        ack = await amy.send("area-a", "van amy, via B")
        mid = ack["message_id"]

        r = await api.call(
            "rita", "POST", f"/api/rooms/area-a/messages/{mid}/hide", {"reason": "x"}
        )
        assert r.status_code == 200
        hidden = await ann.wait_for(lambda f: f.get("type") == "message_hidden", timeout=WITHIN)
        assert hidden["message_id"] == mid

        r = await api.call("rita", "PATCH", "/api/rooms/area-a", {"topic": "via A"})
        assert r.status_code == 200
        topic = await ann.wait_for(lambda f: f.get("type") == "room_updated", timeout=WITHIN)
        assert topic["topic"] == "via A"

        other = (await amy.send("area-a", "tweede"))["message_id"]
        assert (
            await api.call("rita", "POST", f"/api/rooms/area-a/pins/{other}")
        ).status_code == 201
        await ann.wait_for(lambda f: f.get("type") == "message_pinned", timeout=WITHIN)

        r = await api.call(
            "rita",
            "POST",
            "/api/rooms/area-a/mutes",
            {"username": "amy", "minutes": 5, "reason": "x"},
        )
        assert r.status_code == 201
        with pytest.raises(ClientError) as muted:
            await amy.request(
                {"type": "send", "room": "area-a", "body": "nog één", "client_id": "m"},
                timeout=WITHIN,
            )
        assert muted.value.code == "muted"

        assert (
            await api.call("rita", "PATCH", "/api/rooms/area-a", {"locked": True})
        ).status_code == 200
        with pytest.raises(ClientError) as locked:
            await ann.request(
                {"type": "send", "room": "area-a", "body": "dicht?", "client_id": "l"},
                timeout=WITHIN,
            )
        assert locked.value.code == "room_locked"

        r = await api.call(
            "rita", "POST", "/api/rooms/area-a/bans", {"username": "amy", "reason": "x"}
        )
        assert r.status_code == 201
        removed = await amy.wait_for(lambda f: f.get("type") == "removed", timeout=WITHIN)
        assert removed["room"] == "area-a"

        assert (
            await api.call("rita", "DELETE", "/api/rooms/area-a/members/ann")
        ).status_code == 204
        removed = await ann.wait_for(lambda f: f.get("type") == "removed", timeout=WITHIN)
        assert removed["room"] == "area-a"


async def command_actions(b: ServerProcess, open_client: OpenClient) -> None:
    """`members remove` and `pseudonymise` reach open connections on every process via Redis."""
    assert await asyncio.to_thread(main, ["members", "add", "area-a", "bob"]) == 0
    bob = await open_client(b.url, "bob")
    await bob.subscribe("area-a", since=None)
    assert await asyncio.to_thread(main, ["members", "remove", "area-a", "bob"]) == 0
    removed = await bob.wait_for(lambda f: f.get("type") == "removed", timeout=WITHIN)
    assert removed["room"] == "area-a"
    assert await asyncio.to_thread(main, ["pseudonymise", "bob"]) == 0
    async with asyncio.timeout(WITHIN):
        while 1008 not in bob.close_codes:
            await asyncio.sleep(0.02)

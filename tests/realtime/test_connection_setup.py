"""Connection set-up under load: the upgrade's session check, subscribe's access check, a herd."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chat.client import ClientError
from persistence.db import Database
from persistence.models import Ban, Room, Session, User, utcnow
from tests.clients import OpenClient
from tests.helpers import BOTH_BACKENDS, bearer, login, ws_url
from tests.realtime.conftest import StartServers

ROOM = "theme-one"
USERS = ("ann", "amy", "bob", "rita", "mo", "ada")
HERD = 36


async def _upgrade_status(base: str, token: str) -> int:
    try:
        async with connect(ws_url(base), additional_headers=bearer(token), open_timeout=10) as ws:
            await asyncio.wait_for(ws.recv(), 10)
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_a_revoked_or_expired_session_is_refused_at_the_upgrade(
    server: str, database: Database, client: httpx.AsyncClient
) -> None:
    """Logout, a revocation behind the server's back, or expiry: 401 at the upgrade."""
    logged_out, revoked, expired, kept = [await login(client, server, "ann") for _ in range(4)]
    for token in (logged_out, revoked, expired, kept):
        assert await _upgrade_status(server, token) == 101
    r = await client.delete(f"{server}/api/session", headers=bearer(logged_out))
    assert r.status_code == 204
    async with database.write() as s:
        hashes = (
            await s.execute(select(Session.token_hash).order_by(Session.id.desc()).limit(3))
        ).scalars()
        _, expired_hash, revoked_hash = list(hashes)
        await s.execute(
            update(Session).where(Session.token_hash == revoked_hash).values(revoked_at=utcnow())
        )
        await s.execute(
            update(Session)
            .where(Session.token_hash == expired_hash)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    for token in (logged_out, revoked, expired):
        assert await _upgrade_status(server, token) == 401
    assert await _upgrade_status(server, kept) == 101


async def test_subscribe_checks_access_when_the_room_is_already_live(
    server: str, database: Database, open_client: OpenClient
) -> None:
    """A room other clients keep live is still refused to another area's member and to a banned user."""
    ann = await open_client(server, "ann")
    await ann.subscribe("area-a", since=0)
    await ann.subscribe(ROOM, since=0)
    bob = await open_client(server, "bob")
    with pytest.raises(ClientError) as refused:
        await bob.subscribe("area-a", since=0)
    assert refused.value.code == "forbidden"
    async with database.write() as s:
        room = (await s.execute(select(Room).where(Room.slug == ROOM))).scalar_one()
        amy_id = (await s.execute(select(User.id).where(User.username == "amy"))).scalar_one()
        s.add(Ban(room_id=room.id, user_id=amy_id, until=None))
    amy = await open_client(server, "amy")
    with pytest.raises(ClientError) as banned:
        await amy.subscribe(ROOM, since=0)
    assert banned.value.code == "forbidden"
    sent = [await ann.send(room, f"alleen leden {room}") for room in ("area-a", ROOM)]
    await ann.wait_seq(ROOM, sent[1]["seq"])
    await bob.ping()
    await amy.ping()
    assert "area-a" not in bob.events and ROOM not in amy.events
    assert not [f for f in bob.frames + amy.frames if f.get("room") in ("area-a", ROOM)
                and f.get("type") != "error"]  # fmt: skip


@pytest.mark.redis
@BOTH_BACKENDS  # one server process: its catch-up reads differ per database
async def test_a_herd_of_reconnecting_clients_each_catches_up_exactly(
    start_servers: StartServers, open_client: OpenClient
) -> None:
    """Many clients cut off at different seqs reconnect at once while the room goes on."""
    [proc] = await start_servers(1, WERKPLAATS_SEND_RATE="1000", WERKPLAATS_SEND_BURST="1000")
    base = proc.url
    amy = await open_client(base, "amy")
    herd = [await open_client(base, USERS[i % len(USERS)]) for i in range(HERD)]
    await asyncio.gather(*(c.subscribe(ROOM, since=0) for c in herd))
    early, late = herd[: HERD // 2], herd[HERD // 2 :]

    async def send(count: int, label: str) -> int:
        seq = 0
        for i in range(count):
            seq = (await amy.send(ROOM, f"{label} {i}"))["seq"]
        return seq

    await asyncio.gather(*(c.drop() for c in early))
    first = await send(15, "eerst")
    await asyncio.gather(*(c.drop() for c in late))
    last = await send(40, "tijdens")
    await asyncio.gather(*(c.wait_seq(ROOM, last, timeout=60) for c in herd))
    for c in herd:
        assert [e["seq"] for e in c.events[ROOM]] == list(range(1, last + 1))
        assert not c.duplicates and not c.gaps and c.connects == 2
    assert first < last

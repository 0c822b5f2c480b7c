"""A black-holed PostgreSQL or Redis makes nothing hang: timeouts notice it, healing restores.

Cheap forms on loopback (the fault proxy of tests/net/faultproxy.py between this test's
server and the shared PostgreSQL and Redis), with the deadlines set low by settings; the
same faults between hosts are in test_topology.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chat.broker.base import BrokerListener
from chat.broker.redis import RedisBroker
from chat.client import Client, ClientError
from tests.helpers import (
    REDIS_URL,
    Templates,
    login,
    make_settings,
    running_server,
)
from tests.net.faultproxy import FaultProxy

pytestmark = pytest.mark.timeout(60)
ROOM = "theme-one"


async def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


class Recorder(BrokerListener):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def broker_down(self) -> None:
        self.seen.append("down")

    def broker_up(self) -> None:
        self.seen.append("up")


@pytest.mark.redis
async def test_black_holed_redis_is_noticed_and_the_subscriber_replaced(
    redis_proxy: FaultProxy,
) -> None:
    """The subscriber connection's pings go unanswered: broker_down, then up after healing."""
    broker = RedisBroker(redis_proxy.through(REDIS_URL), health_seconds=0.2)
    recorder = broker.listener = Recorder()
    received: list[bytes] = []
    channel = f"wptest-net-{uuid.uuid4().hex[:8]}"
    await broker.connect()
    try:
        async with broker.subscribe(channel, received.append):
            await until(lambda: recorder.seen == ["up"])
            accepted = redis_proxy.connections
            redis_proxy.blackhole()
            await until(lambda: recorder.seen == ["up", "down"])
            assert not broker.healthy
            redis_proxy.heal()
            await until(lambda: recorder.seen == ["up", "down", "up"])
            assert redis_proxy.connections > accepted  # a new subscriber connection
            await until(lambda: broker.healthy)
            # The publishing pool may still hold the connection that was black-holed.
            async with asyncio.timeout(10):
                while not received:
                    await broker.publish(channel, b"after")
                    await asyncio.sleep(0.1)
            assert received[0] == b"after"
    finally:
        await broker.close()


@pytest.mark.postgres
async def test_send_during_a_database_black_hole_fails_cleanly_and_the_resend_settles_it(
    templates: Templates, pg_proxy: FaultProxy
) -> None:
    """A send in flight when PostgreSQL vanishes is answered (not left hanging); its resend
    with the same client_id after healing is acked once, and the message is stored once."""
    url = await templates.postgres()
    through = pg_proxy.through(url)
    settings = make_settings(
        through, database_command_timeout_seconds=1.0, database_connect_timeout_seconds=1.0
    )
    try:
        async with running_server(settings) as base, httpx.AsyncClient(timeout=10) as http:
            token = await login(http, base, "ann")
            async with Client(base, token) as client:
                await client.subscribe(ROOM, since=0)
                await client.send(ROOM, "before")  # the send path's connection is made
                pg_proxy.blackhole()
                cid = uuid.uuid4().hex
                with pytest.raises(ClientError) as refused:
                    await client.send(ROOM, "in the black hole", client_id=cid, timeout=15)
                assert refused.value.code == "internal"
                assert (await http.get(f"{base}/readyz")).status_code == 503
                pg_proxy.heal()
                async with asyncio.timeout(20):
                    while True:
                        try:
                            ack = await client.send(ROOM, "in the black hole", client_id=cid)
                            break
                        except ClientError:
                            await asyncio.sleep(0.2)  # the pool may hand out a stale one
                await client.wait_seq(ROOM, ack["seq"])
                assert not client.gaps and not client.duplicates
        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            rows = await conn.fetch("SELECT id, seq FROM messages WHERE client_id = $1", cid)
        finally:
            await conn.close()
        assert [(r["id"], r["seq"]) for r in rows] == [(ack["message_id"], ack["seq"])]
    finally:
        await templates.drop_postgres(url)


@pytest.mark.postgres
async def test_an_upgrade_while_the_database_is_cut_off_is_503_with_retry_after(
    templates: Templates, pg_proxy: FaultProxy
) -> None:
    """Not a 500 with a traceback: `unavailable` and Retry-After, which clients retry."""
    url = await templates.postgres()
    through = pg_proxy.through(url)
    settings = make_settings(
        through, database_command_timeout_seconds=1.0, database_connect_timeout_seconds=1.0
    )
    try:
        async with running_server(settings) as base, httpx.AsyncClient(timeout=10) as http:
            token = await login(http, base, "ann")
            pg_proxy.cut()
            ws = base.replace("http", "ws", 1) + "/ws"
            with pytest.raises(InvalidStatus) as refused:
                async with asyncio.timeout(20):
                    await connect(ws, additional_headers={"Authorization": f"Bearer {token}"})
            answer = refused.value.response
            assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
            assert b'"unavailable"' in answer.body
            pg_proxy.heal()
            async with asyncio.timeout(20):
                while True:  # the pool may first hand out a connection the cut ended
                    try:
                        async with Client(base, token, reconnect=False) as client:
                            assert client.hello is not None
                        break
                    except InvalidStatus:
                        await asyncio.sleep(0.2)
    finally:
        await templates.drop_postgres(url)

"""The broker's Redis pool is bounded: a storm of commands waits for a connection instead
of opening one per command and keeping them all (the soak's Redis connections grew so)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from chat.broker.redis import POOL_MAX, RedisBroker
from tests.helpers import REDIS_URL, redis_up, require
from tests.net.faultproxy import FaultProxy

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


@pytest.fixture
async def redis_proxy() -> AsyncIterator[FaultProxy]:
    """A counting proxy in front of the test Redis: `connections` is what the broker opened."""
    require("Redis", redis_up(), REDIS_URL)
    host, port = REDIS_URL.split("//")[1].split("/")[0].split(":")
    proxy = FaultProxy("redis", ("127.0.0.1", 0), (host, int(port)))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def test_a_storm_of_publishes_opens_at_most_the_pool(redis_proxy: FaultProxy) -> None:
    broker = RedisBroker(f"redis://127.0.0.1:{redis_proxy.listen[1]}/0")
    channel = f"wptest-pool-{uuid.uuid4().hex[:8]}"
    try:
        # 300 at once, as many as a reconnect storm's presence updates; each one succeeds.
        await asyncio.gather(*(broker.publish(channel, b"x") for _ in range(300)))
        await asyncio.gather(*(broker.publish(channel, b"y") for _ in range(300)))
        assert 1 <= redis_proxy.connections <= POOL_MAX
    finally:
        await broker.close()

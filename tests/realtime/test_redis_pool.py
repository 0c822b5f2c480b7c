"""The broker's Redis pool is bounded: a storm of commands waits for a connection instead
of opening one per command and keeping them all (the soak's Redis connections grew so)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from chat.broker.redis import POOL_MAX, RedisBroker
from tests.helpers import REDIS_URL
from tests.net.faultproxy import FaultProxy

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


async def test_a_storm_of_publishes_opens_at_most_the_pool(redis_proxy: FaultProxy) -> None:
    broker = RedisBroker(redis_proxy.through(REDIS_URL))
    channel = f"wptest-pool-{uuid.uuid4().hex[:8]}"
    try:
        # 300 at once, as many as a reconnect storm's presence updates; each one succeeds.
        await asyncio.gather(*(broker.publish(channel, b"x") for _ in range(300)))
        await asyncio.gather(*(broker.publish(channel, b"y") for _ in range(300)))
        assert 1 <= redis_proxy.connections <= POOL_MAX
    finally:
        await broker.close()

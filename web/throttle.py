"""Login throttling: failures counted per key in a fixed window, in memory or in Redis.

With Redis the counters are shared by every process, so spreading a brute force over
processes gains nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("werkplaats.throttle")


class FailureCounter(Protocol):
    async def blocked_for(self, key: str) -> float:
        """Seconds until `key` may try again (0 when it may now)."""
        ...

    async def fail(self, key: str) -> None: ...

    async def reset(self, key: str) -> None: ...


class MemoryFailureCounter:
    def __init__(self, max_failures: int, window: int) -> None:
        self.max_failures = max_failures
        self.window = window
        self._hits: dict[str, tuple[int, float]] = {}

    async def blocked_for(self, key: str) -> float:
        count, start = self._hits.get(key, (0, 0.0))
        left = start + self.window - time.monotonic()
        if left <= 0:
            self._hits.pop(key, None)
            return 0.0
        return left if count >= self.max_failures else 0.0

    async def fail(self, key: str) -> None:
        now = time.monotonic()
        count, start = self._hits.get(key, (0, now))
        if start + self.window <= now:
            count, start = 0, now
        self._hits[key] = (count + 1, start)
        if len(self._hits) > 100_000:  # bound memory under a spray of usernames
            oldest = min(self._hits, key=lambda k: self._hits[k][1])
            del self._hits[oldest]

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)


class RedisFailureCounter:
    """Counters in Redis, shared by every process.

    While Redis is unreachable the counters fall back to this process's memory: logging in
    keeps working during a broker outage, still throttled, only no longer shared.
    """

    def __init__(self, redis: Redis, max_failures: int, window: int, prefix: str = "wp") -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.window = window
        self.prefix = prefix
        self.fallback = MemoryFailureCounter(max_failures, window)

    def _key(self, key: str) -> str:
        return f"{self.prefix}:login-fail:{key}"

    async def blocked_for(self, key: str) -> float:
        try:
            pipe = self.redis.pipeline()
            pipe.get(self._key(key))
            pipe.pttl(self._key(key))
            raw, ttl_ms = await pipe.execute()
        except (RedisError, OSError):
            log.warning("login throttle: Redis unavailable, counting in this process")
            return await self.fallback.blocked_for(key)
        if raw is None or int(raw) < self.max_failures:
            return await self.fallback.blocked_for(key)
        return max(int(ttl_ms), 1) / 1000

    async def fail(self, key: str) -> None:
        try:
            pipe = self.redis.pipeline()
            pipe.incr(self._key(key))
            pipe.expire(self._key(key), self.window, nx=True)
            await pipe.execute()
        except (RedisError, OSError):
            await self.fallback.fail(key)

    async def reset(self, key: str) -> None:
        await self.fallback.reset(key)
        try:
            await self.redis.delete(self._key(key))
        except (RedisError, OSError):
            pass

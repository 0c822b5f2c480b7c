"""Login throttling: failures counted per key in a fixed window, in memory or in Redis.

With Redis the counters are shared by every process, so spreading a brute force over
processes gains nothing.
"""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis


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
    def __init__(self, redis: Redis, max_failures: int, window: int) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.window = window

    def _key(self, key: str) -> str:
        return f"wp:login-fail:{key}"

    async def blocked_for(self, key: str) -> float:
        pipe = self.redis.pipeline()
        pipe.get(self._key(key))
        pipe.pttl(self._key(key))
        raw, ttl_ms = await pipe.execute()
        if raw is None or int(raw) < self.max_failures:
            return 0.0
        return max(int(ttl_ms), 1) / 1000

    async def fail(self, key: str) -> None:
        pipe = self.redis.pipeline()
        pipe.incr(self._key(key))
        pipe.expire(self._key(key), self.window, nx=True)
        await pipe.execute()

    async def reset(self, key: str) -> None:
        await self.redis.delete(self._key(key))

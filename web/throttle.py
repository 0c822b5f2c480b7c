"""Login throttling: an attempt is reserved before its password is checked, in one atomic step.

Three counters, each with its own purpose (docs/security-login.md gives the numbers):
- per (username, address): tight, `login_max_failures` per window, then 429 until the window
  ends; a success clears it;
- per address: loose (`login_address_max_failures`), so that an office behind one NAT address
  is not blocked by its own typos, while one address spraying many usernames is;
- per username, from anywhere: after `login_user_free_failures`, a progressive delay (1, 2,
  4 … seconds, at most `login_user_max_delay_seconds`) between attempts; attempts within the
  delay get 429 with the seconds left. A client that has logged in as this user before
  (a trusted device, `web.devices`) is never delayed, so a stranger cannot lock the owner out.

`reserve` decides and counts at once (a Lua script in Redis, a synchronous section in
memory): however many guesses arrive together, at most the allowed number reach the password
check. A reservation stays counted as a failure unless `succeeded` releases it.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from web.settings import Settings

log = logging.getLogger("werkplaats.throttle")

# Keys kept in memory per counter kind; the oldest go first under a spray of usernames.
MEMORY_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Limits:
    """The throttle's numbers, from the settings."""

    pair_max: int
    address_max: int
    user_free: int
    user_max_delay: float
    window: float

    def delay(self, failures: int) -> float:
        """Seconds before the next attempt for a username with `failures` recent failures."""
        if failures < self.user_free:
            return 0.0
        return float(min(self.user_max_delay, 2.0 ** min(failures - self.user_free, 30)))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login attempt: who it claims to be, where it comes from, from a trusted device?"""

    username: str
    address: str
    trusted: bool = False


class LoginThrottle(Protocol):
    async def peek(self, attempt: Attempt) -> float:
        """Seconds until `attempt` may be made (0: now); counts nothing."""
        ...

    async def reserve(self, attempt: Attempt) -> float:
        """Decide and count at once: 0 when the password may be checked, else seconds to wait."""
        ...

    async def succeeded(self, attempt: Attempt) -> None:
        """Release a reservation whose password was right."""
        ...


class _Counts:
    """Counters that expire, bounded in number (oldest first out)."""

    def __init__(self) -> None:
        self.items: OrderedDict[str, list[float]] = OrderedDict()

    def get(self, key: str, now: float) -> list[float] | None:
        item = self.items.get(key)
        if item is not None and item[-1] <= now:
            del self.items[key]
            return None
        return item

    def put(self, key: str, item: list[float]) -> None:
        self.items[key] = item
        while len(self.items) > MEMORY_KEYS:
            self.items.popitem(last=False)


class MemoryLoginThrottle:
    """This process's counters; every method runs without an await, so each is atomic."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.pairs = _Counts()  # [count, expires]
        self.addresses = _Counts()  # [count, expires]
        self.users = _Counts()  # [failures, next allowed, expires]

    def _wait(self, a: Attempt, now: float) -> float:
        lim = self.limits
        pair = self.pairs.get(f"{a.username}\0{a.address}", now)
        if pair is not None and pair[0] >= lim.pair_max:
            return pair[1] - now
        addr = self.addresses.get(a.address, now)
        if addr is not None and addr[0] >= lim.address_max:
            return addr[1] - now
        user = self.users.get(a.username, now)
        if not a.trusted and user is not None and user[0] >= lim.user_free and now < user[1]:
            return user[1] - now
        return 0.0

    async def peek(self, attempt: Attempt) -> float:
        return self._wait(attempt, time.monotonic())

    async def reserve(self, attempt: Attempt) -> float:
        now = time.monotonic()
        wait = self._wait(attempt, now)
        if wait > 0:
            return wait
        lim = self.limits
        for counts, key in (
            (self.pairs, f"{attempt.username}\0{attempt.address}"),
            (self.addresses, attempt.address),
        ):
            item = counts.get(key, now) or [0, now + lim.window]
            item[0] += 1
            counts.put(key, item)
        user = self.users.get(attempt.username, now) or [0, 0.0, 0.0]
        user[0] += 1
        if user[0] >= lim.user_free:
            user[1] = now + lim.delay(int(user[0]))
        user[2] = now + lim.window  # sliding: a sustained attack keeps the delay
        self.users.put(attempt.username, user)
        return 0.0

    async def succeeded(self, attempt: Attempt) -> None:
        now = time.monotonic()
        self.pairs.items.pop(f"{attempt.username}\0{attempt.address}", None)
        for counts, key in ((self.addresses, attempt.address), (self.users, attempt.username)):
            item = counts.get(key, now)
            if item is not None and item[0] > 0:
                item[0] -= 1


# KEYS: pair, address, user. ARGV: pair_max, address_max, user_free, max_delay_ms, window_ms,
# trusted (0/1), commit (0/1). Returns the milliseconds to wait, 0 when allowed (and counted
# when commit is 1). Redis's own clock, so that every process agrees.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pair_max, addr_max, free = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_delay, window = tonumber(ARGV[4]), tonumber(ARGV[5])
local function left(key)
  local ms = redis.call('PTTL', key)
  if ms < 1 then return 1000 end
  return ms
end
if tonumber(redis.call('GET', KEYS[1]) or '0') >= pair_max then return left(KEYS[1]) end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= addr_max then return left(KEYS[2]) end
local n = tonumber(redis.call('HGET', KEYS[3], 'n') or '0')
local nxt = tonumber(redis.call('HGET', KEYS[3], 'next') or '0')
if ARGV[6] == '0' and n >= free and now < nxt then return nxt - now end
if ARGV[7] == '1' then
  for i = 1, 2 do
    if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], window) end
  end
  n = redis.call('HINCRBY', KEYS[3], 'n', 1)
  if n >= free then
    local delay = math.min(max_delay, 1000 * 2 ^ math.min(n - free, 30))
    redis.call('HSET', KEYS[3], 'next', now + delay)
  end
  redis.call('PEXPIRE', KEYS[3], window)
end
return 0
"""

# KEYS: pair, address, user: the pair is cleared, the others give back one reservation.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
if tonumber(redis.call('HGET', KEYS[3], 'n') or '0') > 0 then
  redis.call('HINCRBY', KEYS[3], 'n', -1)
end
return 0
"""


class RedisLoginThrottle:
    """Counters in Redis, shared by every process.

    While Redis is unreachable the counters fall back to this process's memory: logging in
    keeps working during an outage, still throttled, only no longer shared.
    """

    def __init__(self, redis: Redis, limits: Limits, prefix: str = "wp") -> None:
        self.redis = redis
        self.limits = limits
        self.prefix = prefix
        self.fallback = MemoryLoginThrottle(limits)
        self._reserve = redis.register_script(_RESERVE)
        self._succeeded = redis.register_script(_SUCCEEDED)

    def _keys(self, a: Attempt) -> list[str]:
        # Usernames and addresses are length-limited, and a separator they cannot hold keeps
        # one key from passing for another.
        base = f"{self.prefix}:login"
        return [
            f"{base}:pair:{a.username}\0{a.address}",
            f"{base}:addr:{a.address}",
            f"{base}:user:{a.username}",
        ]

    async def _run(self, attempt: Attempt, commit: bool) -> float:
        lim = self.limits
        args = [
            lim.pair_max,
            lim.address_max,
            lim.user_free,
            int(lim.user_max_delay * 1000),
            int(lim.window * 1000),
            int(attempt.trusted),
            int(commit),
        ]
        ms = await self._reserve(keys=self._keys(attempt), args=args)
        return int(ms) / 1000

    async def peek(self, attempt: Attempt) -> float:
        try:
            shared = await self._run(attempt, commit=False)
        except (RedisError, OSError):
            log.warning("login throttle: Redis unavailable, counting in this process")
            return await self.fallback.peek(attempt)
        return max(shared, await self.fallback.peek(attempt))

    async def reserve(self, attempt: Attempt) -> float:
        # Counts made here while Redis was down still hold until they expire.
        local = await self.fallback.peek(attempt)
        if local > 0:
            return local
        try:
            return await self._run(attempt, commit=True)
        except (RedisError, OSError):
            log.warning("login throttle: Redis unavailable, counting in this process")
            return await self.fallback.reserve(attempt)

    async def succeeded(self, attempt: Attempt) -> None:
        await self.fallback.succeeded(attempt)
        try:
            await self._succeeded(keys=self._keys(attempt), args=[])
        except (RedisError, OSError):
            pass


def login_throttle(settings: Settings, redis: Redis | None) -> LoginThrottle:
    """The process's throttle: shared through Redis when there is one, else in memory."""
    limits = Limits(
        pair_max=settings.login_max_failures,
        address_max=settings.login_address_max_failures,
        user_free=settings.login_user_free_failures,
        user_max_delay=settings.login_user_max_delay_seconds,
        window=settings.login_window_seconds,
    )
    if redis is None:
        return MemoryLoginThrottle(limits)
    return RedisLoginThrottle(redis, limits, settings.redis_prefix)

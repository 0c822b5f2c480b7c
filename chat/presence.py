"""Who is online in a room: in this process, or across processes in Redis with expiry.

A user is online in a room while at least one of their connections is subscribed to it.
Each process counts its own connections and, with Redis, keeps one sorted-set member per
(user, process) whose score is an expiry time it refreshes every third of the TTL
(`presence_ttl_seconds`, default `PRESENCE_TTL`). A process that dies stops refreshing,
so its entries vanish within the TTL without anyone cleaning up.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from persistence import wallclock

log = logging.getLogger("werkplaats.presence")

# Long enough to survive a few missed refreshes, short enough that a crashed process's
# users disappear within a minute.
PRESENCE_TTL = 30.0


class Presence(ABC):
    """Counts this process's subscriptions per (room, username)."""

    def __init__(self, ttl: float = PRESENCE_TTL) -> None:
        self.local: dict[str, Counter[str]] = {}
        # The same names kept sorted: a join storm asked for each room's list once per
        # join, and sorting hundreds of names each time cost more than keeping them sorted.
        self._names: dict[str, list[str]] = {}
        self.ttl = ttl
        # Entries are refreshed (and expiries noticed) this often.
        self.refresh_every = ttl / 3

    def _inc(self, room: str, username: str) -> bool:
        """Count one more; True when this is the user's first here."""
        counts = self.local.setdefault(room, Counter())
        counts[username] += 1
        if counts[username] > 1:
            return False
        bisect.insort(self._names.setdefault(room, []), username)
        return True

    def _dec(self, room: str, username: str) -> bool:
        """Count one less; True when it was the user's last here."""
        counts = self.local.get(room)
        if counts is None or counts[username] <= 0:
            return False
        counts[username] -= 1
        if counts[username] > 0:
            return False
        del counts[username]
        names = self._names[room]
        del names[bisect.bisect_left(names, username)]
        if not counts:
            del self.local[room]
            del self._names[room]
        return True

    def local_online(self, room: str) -> list[str]:
        return list(self._names.get(room, ()))

    @abstractmethod
    async def join(self, room: str, username: str) -> None: ...

    @abstractmethod
    async def leave(self, room: str, username: str) -> None: ...

    @abstractmethod
    async def online(self, room: str) -> list[str]:
        """Usernames online in the room, sorted."""

    async def refresh(self) -> None:  # noqa: B027 - only the Redis store needs it
        """Keep this process's entries alive (called every `refresh_every` seconds)."""

    async def clear(self) -> None:  # noqa: B027 - only the Redis store needs it
        """Remove this process's entries (on shutdown)."""


class MemoryPresence(Presence):
    async def join(self, room: str, username: str) -> None:
        self._inc(room, username)

    async def leave(self, room: str, username: str) -> None:
        self._dec(room, username)

    async def online(self, room: str) -> list[str]:
        return self.local_online(room)


class RedisPresence(Presence):
    """One sorted set per room, `<prefix>:presence:<room>`, members `username\\tprocess`."""

    def __init__(
        self, redis: Redis, prefix: str, process_id: str, ttl: float = PRESENCE_TTL
    ) -> None:
        super().__init__(ttl)
        self.redis = redis
        self.prefix = prefix
        self.process_id = process_id
        # Per room, the names the next write adds and that write's outcome: a join storm's
        # entries go to Redis in one write per room and turn of the loop, not one per join.
        self._adding: dict[str, tuple[list[str], asyncio.Future[None]]] = {}
        self._writes: set[asyncio.Task[None]] = set()

    def _key(self, room: str) -> str:
        return f"{self.prefix}:presence:{room}"

    def _member(self, username: str) -> str:
        return f"{username}\t{self.process_id}"

    async def join(self, room: str, username: str) -> None:
        if self._inc(room, username):
            await self._quietly(self._add_soon(room, username))

    async def leave(self, room: str, username: str) -> None:
        if self._dec(room, username):
            adding = self._adding.get(room)
            if adding is not None and username in adding[0]:
                adding[0].remove(username)  # not written yet: nothing to remove
                return
            await self._quietly(self.redis.zrem(self._key(room), self._member(username)))

    async def _add_soon(self, room: str, username: str) -> None:
        """Add the entry with the others of this turn of the loop; done when written."""
        adding = self._adding.get(room)
        if adding is None:
            adding = self._adding[room] = ([], asyncio.get_running_loop().create_future())
            write = asyncio.create_task(self._add_pending(room), name="presence-add")
            self._writes.add(write)
            write.add_done_callback(self._writes.discard)
        adding[0].append(username)
        # Shielded: a joiner that gives up must not cancel the others' write.
        await asyncio.shield(adding[1])

    async def _add_pending(self, room: str) -> None:
        await asyncio.sleep(0)
        names, done = self._adding.pop(room)
        try:
            async with asyncio.timeout(2.0):
                if names:
                    await self._add(room, names)
        except asyncio.CancelledError:
            done.cancel()
            raise
        except Exception as exc:
            done.set_exception(exc)
            done.exception()  # no "never retrieved" warning when no joiner waits
        else:
            done.set_result(None)

    async def _add(self, room: str, usernames: list[str]) -> None:
        expiry = wallclock.now() + self.ttl
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self._key(room), {self._member(u): expiry for u in usernames})
        pipe.expire(self._key(room), int(self.ttl) + 5)
        await pipe.execute()

    async def online(self, room: str) -> list[str]:
        try:
            async with asyncio.timeout(2.0):
                members = await self.redis.zrangebyscore(self._key(room), wallclock.now(), "+inf")
        except (RedisError, OSError, TimeoutError):
            # Redis is down: what this process knows is the best answer there is.
            return self.local_online(room)
        names = {_text(m).split("\t", 1)[0] for m in members}
        return sorted(names | set(self.local_online(room)))

    async def refresh(self) -> None:
        for room, counts in list(self.local.items()):
            if counts:
                await self._quietly(self._add(room, list(counts)))

    async def clear(self) -> None:
        for room, counts in list(self.local.items()):
            if counts:
                members = [self._member(u) for u in counts]
                await self._quietly(self.redis.zrem(self._key(room), *members))
        self.local.clear()
        self._names.clear()

    async def _quietly(self, job: Awaitable[Any]) -> None:
        try:
            async with asyncio.timeout(2.0):
                await job
        except (RedisError, OSError, TimeoutError) as exc:
            log.debug("presence: Redis unavailable (%s)", exc)


def _text(member: Any) -> str:
    return member.decode() if isinstance(member, bytes) else str(member)

"""One read per key at a time, shared by every caller that asked before it began.

A herd asking for the same thing at once (a room's access facts, a room's online list)
cost one read per caller. Here the callers that ask while a key's read is under way share
the next one, which starts when that one ends: one read per key at a time, each begun
after every caller it serves had asked, so it sees all they saw before asking. A caller
that goes away does not cancel the read the others wait for; a read's error goes to every
caller waiting on it, and a read cancelled (the loop shutting down) cancels their wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Set
from typing import Any, Generic, TypeVar

K = TypeVar("K")
A = TypeVar("A")
V = TypeVar("V")

Spawn = Callable[[Coroutine[Any, Any, None], str], object]


class SharedNextRead(Generic[K, A, V]):
    """Reads of `K`s giving `V`s, each shared by the callers that asked before it began.

    `read(key, asks)` does the reading; `asks` are what its callers asked for (`A`s, e.g.
    their user ids), fixed once it is called. `pause(key)`, if given, is awaited just
    before a read begins (to space a key's reads); callers asking meanwhile still come
    along. `spawn` runs each read's task (the owner's, to be awaited on shutdown); by
    default they are kept in `tasks`.
    """

    def __init__(
        self,
        read: Callable[[K, Set[A]], Awaitable[V]],
        *,
        name: str,
        pause: Callable[[K], Awaitable[None]] | None = None,
        spawn: Spawn | None = None,
    ) -> None:
        self._read = read
        self._name = name
        self._pause = pause
        self._spawn = spawn if spawn is not None else self._keep
        # Per key: the read that has not begun yet, with what its callers ask for.
        self.waiting: dict[K, tuple[set[A], asyncio.Future[V]]] = {}
        # Per key: the outcome of the read under way.
        self.reading: dict[K, asyncio.Future[V]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def read(self, key: K, ask: A | None = None) -> V:
        """The outcome of a read of `key` that begins after this call (and reads `ask`)."""
        batch = self.waiting.get(key)
        if batch is None:
            batch = self.waiting[key] = (set(), asyncio.get_running_loop().create_future())
            self._spawn(self._run(key, batch), self._name)
        if ask is not None:
            batch[0].add(ask)
        # Shielded: a caller that goes away must not cancel the others' read.
        return await asyncio.shield(batch[1])

    def _keep(self, job: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(job, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, key: K, batch: tuple[set[A], asyncio.Future[V]]) -> None:
        asks, done = batch
        try:
            before = self.reading.get(key)
            if before is not None:
                await asyncio.wait([before])
            else:
                await asyncio.sleep(0)  # the callers of this turn of the loop come along
            if self._pause is not None:
                await self._pause(key)
            # From here on a caller waits for the next read: this one may have begun
            # before it asked.
            del self.waiting[key]
            self.reading[key] = done
            done.set_result(await self._read(key, asks))
        except asyncio.CancelledError:
            done.cancel()
            raise
        except Exception as exc:
            # Every caller waiting gets it, as if it had read alone.
            done.set_exception(exc)
            done.exception()  # no "never retrieved" warning when no caller is left
        finally:
            if self.waiting.get(key) is batch:
                del self.waiting[key]
            if self.reading.get(key) is done:
                del self.reading[key]

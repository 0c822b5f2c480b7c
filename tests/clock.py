"""A clock for tests: time moves only when the test advances it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable


class FakeTimer:
    """One callback waiting on a `FakeClock`."""

    __slots__ = ("at", "callback", "cancelled")

    def __init__(self, at: float, callback: Callable[[], None]) -> None:
        self.at = at
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run it."""
        self.cancelled = True


class FakeClock:
    """A `chat.clock.Clock` whose timers and sleeps fire only inside `advance`."""

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start
        self._timers: list[tuple[float, int, FakeTimer]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """The fake monotonic time."""
        return self.time

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        """Run `callback` once the clock has been advanced past `delay`."""
        timer = FakeTimer(self.time + max(delay, 0.0), callback)
        heapq.heappush(self._timers, (timer.at, next(self._order), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        """Return once the clock has been advanced past `seconds` (at once for 0)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        self.call_later(seconds, wake)
        await woken

    async def advance(self, seconds: float) -> None:
        """Move time on by `seconds`, firing what falls due in order, and let it run."""
        end = self.time + seconds
        while self._timers and self._timers[0][0] <= end:
            at, _, timer = heapq.heappop(self._timers)
            self.time = max(self.time, at)
            if not timer.cancelled:
                timer.callback()
            await asyncio.sleep(0)
        self.time = end
        for _ in range(5):
            await asyncio.sleep(0)

    async def advance_until(
        self, done: Callable[[], bool], step: float, timeout: float = 10
    ) -> None:
        """Advance by `step` until `done()`, letting real I/O run between the steps."""
        async with asyncio.timeout(timeout):
            while not done():
                await self.advance(step)
                await asyncio.sleep(0.01)

"""The time that the real-time timers read and wait on: the system's, or a test's own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    """A callback set to run later (`asyncio.TimerHandle` is one)."""

    def cancel(self) -> None:
        """Do not run it."""


class Clock(Protocol):
    """Monotonic seconds, a sleep and a timer on that same time line."""

    def now(self) -> float:
        """Monotonic seconds."""

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` have passed on this clock."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run `callback` once `delay` seconds have passed on this clock."""


class SystemClock:
    """The event loop's clock (`time.monotonic`)."""

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """`asyncio.sleep`."""
        await asyncio.sleep(seconds)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """`loop.call_later` on the running loop."""
        return asyncio.get_running_loop().call_later(delay, callback)


SYSTEM_CLOCK: Clock = SystemClock()

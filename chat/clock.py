"""The time that the real-time timers read and wait on: the system's, or a test's own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    """A callback set to run later (`asyncio.TimerHandle` is one)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic seconds, and a sleep and a timer on that time line."""

    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...
    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


class SystemClock:
    """The event loop's clock (`time.monotonic`)."""

    now = staticmethod(time.monotonic)
    sleep = staticmethod(asyncio.sleep)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """`loop.call_later` on the running loop."""
        return asyncio.get_running_loop().call_later(delay, callback)


SYSTEM_CLOCK: Clock = SystemClock()

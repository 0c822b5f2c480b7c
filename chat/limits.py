"""Per-connection limits: token buckets and sliding-window budgets (no I/O, clock injected)."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]

# Bad frames (not JSON, unknown type, ill-typed field) allowed per window; one more closes
# the connection with 1008 (the contract: "more than 10 bad frames in a minute").
BAD_FRAMES_ALLOWED = 10
BAD_FRAME_WINDOW = 60.0
# Refusals for rate limiting per window before the connection counts as flooding (1008):
# a well-behaved client backs off after the first `retry_after`.
FLOOD_REFUSALS = 50
FLOOD_WINDOW = 10.0


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second."""

    __slots__ = ("burst", "clock", "rate", "stamp", "tokens")

    def __init__(self, burst: int, rate: float, clock: Clock = time.monotonic) -> None:
        self.burst = float(burst)
        self.rate = rate
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()

    def take(self) -> float:
        """0.0 when a token was taken, else the seconds until one will be there."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class WindowBudget:
    """At most `allowed` events in any `window` seconds."""

    # Every connection has two of these and nearly all never spend: no list until the
    # first event (an empty deque would cost ~600 bytes on each idle connection). The
    # list stays short: it holds at most `allowed` + 1 stamps.
    __slots__ = ("allowed", "clock", "stamps", "window")

    def __init__(self, allowed: int, window: float, clock: Clock = time.monotonic) -> None:
        self.allowed = allowed
        self.window = window
        self.clock = clock
        self.stamps: list[float] | None = None

    def spend(self) -> bool:
        """Count one; False once the budget is exceeded."""
        now = self.clock()
        stamps = self.stamps
        if stamps is None:
            stamps = self.stamps = []
        cutoff = now - self.window
        drop = 0
        while drop < len(stamps) and stamps[drop] <= cutoff:
            drop += 1
        if drop:
            del stamps[:drop]
        stamps.append(now)
        if len(stamps) > self.allowed + 1:
            del stamps[0]
        return len(stamps) <= self.allowed

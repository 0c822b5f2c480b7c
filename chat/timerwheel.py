"""Many far-off deadlines on one timer: a wheel of slots `resolution` seconds wide.

Every idle connection has deadlines that it nearly never reaches (no frame for the idle
time, its session's expiry, the next keepalive ping), and a timer handle of the event loop
for each costs about 0.5 KiB on every connection. The wheel keeps each waiting object in
the set of the slot that its deadline falls in, and runs one timer, for the earliest
slot. An object is visited (`Waiter.due`) once its slot has ended, so at most
`resolution` late, and answers when it wants its next visit, or None to leave.
"""

from __future__ import annotations

import logging
import math
from typing import Protocol

from chat.clock import Clock, Timer

log = logging.getLogger("werkplaats.ws")


class Waiter(Protocol):
    """What the wheel visits; `wheel_slot` is the wheel's own mark (None when not on it)."""

    wheel_slot: int | None

    def due(self, now: float) -> float | None:
        """Visited at or after the time asked for: the next time (later than `now`), or
        None to be left off the wheel."""
        ...


class TimerWheel:
    """Waiters visited at their deadlines, rounded up to a multiple of `resolution`."""

    __slots__ = ("armed", "clock", "handle", "resolution", "slots")

    def __init__(self, clock: Clock, resolution: float = 1.0) -> None:
        self.clock = clock
        self.resolution = resolution
        self.slots: dict[int, set[Waiter]] = {}
        self.handle: Timer | None = None
        # The slot the timer is set for.
        self.armed: int | None = None

    def __len__(self) -> int:
        return sum(len(waiting) for waiting in self.slots.values())

    def add(self, waiter: Waiter, at: float) -> None:
        """Visit `waiter` at `at` (to the slot): its earlier visit, if any, is dropped."""
        self.remove(waiter)
        slot = math.ceil(at / self.resolution)
        waiting = self.slots.get(slot)
        if waiting is None:
            waiting = self.slots[slot] = set()
        waiting.add(waiter)
        waiter.wheel_slot = slot
        if self.armed is None or slot < self.armed:
            self._arm(slot)

    def remove(self, waiter: Waiter) -> None:
        """Take `waiter` off the wheel (nothing if it is not on it)."""
        slot = waiter.wheel_slot
        if slot is None:
            return
        waiter.wheel_slot = None
        waiting = self.slots.get(slot)
        if waiting is not None:
            waiting.discard(waiter)
            if not waiting:
                del self.slots[slot]

    def close(self) -> None:
        """Drop every waiter and the timer."""
        for waiting in self.slots.values():
            for waiter in waiting:
                waiter.wheel_slot = None
        self.slots.clear()
        if self.handle is not None:
            self.handle.cancel()
        self.handle = None
        self.armed = None

    def _arm(self, slot: int) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.armed = slot
        delay = max(0.0, slot * self.resolution - self.clock.now())
        self.handle = self.clock.call_later(delay, self._fire)

    def _fire(self) -> None:
        self.handle = None
        # No timer is set while visiting (a slot below every real one): set once, after.
        self.armed = -1
        try:
            now = self.clock.now()
            ended = math.floor(now / self.resolution)
            for slot in sorted(s for s in self.slots if s <= ended):
                # Taken off first: a visit may add or remove waiters, this one included.
                for waiter in self.slots.pop(slot, None) or ():
                    if waiter.wheel_slot != slot:
                        continue  # removed, or moved, by an earlier visit of this turn
                    waiter.wheel_slot = None
                    try:
                        at = waiter.due(now)
                    except Exception:
                        log.exception("timer wheel: a visit failed")
                        continue
                    if at is not None:
                        self.add(waiter, max(at, now))
        finally:
            self.armed = None
            if self.slots:
                self._arm(min(self.slots))

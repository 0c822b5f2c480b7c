"""chat.timerwheel with a fake clock: visits at the deadline's slot, moves, removals."""

from __future__ import annotations

from chat.timerwheel import TimerWheel
from tests.clock import FakeClock


class Waiter:
    """Records its visits; asks to come back after `every` seconds, `times` times."""

    def __init__(self, every: float | None = None, times: int = 0) -> None:
        self.wheel_slot: int | None = None
        self.visits: list[float] = []
        self.every = every
        self.times = times

    def due(self, now: float) -> float | None:
        self.visits.append(now)
        if self.every is None or len(self.visits) > self.times:
            return None
        return now + self.every


async def test_a_waiter_is_visited_at_its_deadline_to_the_slot() -> None:
    """Visited once the slot its deadline falls in has ended: never early, at most one
    resolution late; then off the wheel."""
    clock = FakeClock(start=1000.0)
    wheel = TimerWheel(clock)
    waiter = Waiter()
    wheel.add(waiter, 1004.2)
    await clock.advance(4.7)
    assert waiter.visits == []
    await clock.advance(0.5)
    assert waiter.visits == [1005.0]
    assert waiter.wheel_slot is None and len(wheel) == 0 and wheel.handle is None


async def test_a_waiter_comes_back_when_it_asks() -> None:
    """The time `due` answers is its next visit, as often as it asks."""
    clock = FakeClock(start=1000.0)
    wheel = TimerWheel(clock)
    waiter = Waiter(every=20.0, times=2)
    wheel.add(waiter, 1020.0)
    await clock.advance(100)
    assert waiter.visits == [1020.0, 1040.0, 1060.0]


async def test_removed_and_moved_waiters() -> None:
    """A removed waiter is not visited; adding again moves it; an earlier deadline added
    after a later one sets the timer earlier."""
    clock = FakeClock(start=1000.0)
    wheel = TimerWheel(clock)
    gone, moved, early = Waiter(), Waiter(), Waiter()
    wheel.add(gone, 1010.0)
    wheel.add(moved, 1010.0)
    wheel.add(moved, 1030.0)
    wheel.remove(gone)
    wheel.remove(gone)
    wheel.add(early, 1002.0)
    assert len(wheel) == 2
    await clock.advance(15)
    assert early.visits == [1002.0] and moved.visits == [] and gone.visits == []
    await clock.advance(15)
    assert moved.visits == [1030.0] and gone.visits == []


async def test_a_visit_may_remove_a_waiter_of_the_same_slot() -> None:
    """A visit that takes other waiters of its slot off (a connection closing another)
    means those not visited yet are not visited."""
    clock = FakeClock(start=1000.0)
    wheel = TimerWheel(clock)
    order: list[object] = []

    class Recorded(Waiter):
        def due(self, now: float) -> float | None:
            order.append(self)
            return super().due(now)

    others = [Recorded() for _ in range(20)]

    class Remover(Recorded):
        def due(self, now: float) -> float | None:
            for other in others:
                wheel.remove(other)
            return super().due(now)

    remover = Remover()
    for waiter in [*others, remover]:
        wheel.add(waiter, 1001.0)
    await clock.advance(2)
    assert remover in order
    assert order[-1] is remover  # none of the others after it
    assert len(set(map(id, order))) == len(order)


async def test_close_drops_every_waiter() -> None:
    """After `close` nothing is visited and the timer is gone."""
    clock = FakeClock(start=1000.0)
    wheel = TimerWheel(clock)
    waiter = Waiter()
    wheel.add(waiter, 1001.0)
    wheel.close()
    await clock.advance(5)
    assert waiter.visits == [] and waiter.wheel_slot is None and len(wheel) == 0

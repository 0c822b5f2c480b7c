"""chat.coalesce.SharedNextRead on a real event loop: reads shared, one per key at a time,
cancels and errors passed on, nothing left behind."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Set
from typing import Any

import pytest

from chat.coalesce import SharedNextRead

# Every wait on the code under test is bounded: a bug fails the test, never hangs it.
LIMIT = 5.0


Shared = SharedNextRead[str, int, dict[int, str]]


class Reads:
    """A read whose each call is recorded and held until the test lets it end."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []
        self.running = 0
        self.most_running = 0
        self.began = asyncio.Event()
        self.release = asyncio.Event()
        self.fail: str | None = None  # the read raises LookupError(fail)

    async def read(self, key: str, asks: Set[int]) -> dict[int, str]:
        self.calls.append((key, sorted(asks)))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        self.began.set()
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        if self.fail is not None:
            raise LookupError(self.fail)
        return {ask: f"{key}:{ask}" for ask in asks}

    def shared(self, **options: Any) -> Shared:
        """A `SharedNextRead` doing this read."""
        return SharedNextRead(self.read, name="test-read", **options)

    async def first_began(self) -> None:
        async with asyncio.timeout(LIMIT):
            await self.began.wait()


def ask(shared: Shared, key: str, *users: int) -> list[asyncio.Task[dict[int, str]]]:
    """A caller for each user, started: each asks at its first step."""
    return [asyncio.create_task(shared.read(key, user)) for user in users]


async def one_turn() -> None:
    """Let the tasks already scheduled take their next step (a turn of the loop, no timing)."""
    await asyncio.sleep(0)


async def settled(*tasks: asyncio.Task[Any]) -> None:
    async with asyncio.timeout(LIMIT):
        await asyncio.wait(tasks)


def clean(shared: SharedNextRead[Any, Any, Any]) -> bool:
    return not shared.waiting and not shared.reading and not shared.tasks


async def test_callers_of_one_turn_share_one_read() -> None:
    """Callers that ask in the same turn of the loop get one read, which reads for all."""
    reads = Reads()
    shared = reads.shared()
    callers = ask(shared, "room", 3, 1, 2)
    await reads.first_began()
    reads.release.set()
    await settled(*callers)
    assert reads.calls == [("room", [1, 2, 3])]
    assert [c.result() for c in callers] == [{1: "room:1", 2: "room:2", 3: "room:3"}] * 3
    assert clean(shared)


async def test_a_caller_scheduled_after_the_reads_task_still_comes_along() -> None:
    """The read begins a turn after the first caller asked, so a caller whose step falls
    between (here: this test's next step) shares it."""
    reads = Reads()
    shared = reads.shared()
    [first] = ask(shared, "room", 1)
    await one_turn()  # `first` asked and spawned the read's task, which has not run yet
    [second] = ask(shared, "room", 2)
    await reads.first_began()
    reads.release.set()
    await settled(first, second)
    assert reads.calls == [("room", [1, 2])]


async def test_callers_during_a_read_share_the_next_which_begins_after_it() -> None:
    """A read under way may have begun before a caller asked: those that ask meanwhile
    share one next read, begun only when that one has ended."""
    reads = Reads()
    shared = reads.shared()
    [first] = ask(shared, "room", 1)
    await reads.first_began()
    late = ask(shared, "room", 2, 3)
    await one_turn()
    assert reads.calls == [("room", [1])]
    assert set(shared.waiting) == {"room"}
    reads.release.set()
    await settled(first, *late)
    assert reads.calls == [("room", [1]), ("room", [2, 3])]
    assert reads.most_running == 1
    assert first.result() == {1: "room:1"}
    assert late[0].result() == late[1].result() == {2: "room:2", 3: "room:3"}
    assert clean(shared)


async def test_keys_are_read_apart_and_at_once() -> None:
    """Each key has its own reads; reads of two keys may run together."""
    reads = Reads()
    shared = reads.shared()
    [one] = ask(shared, "one", 1)
    [two] = ask(shared, "two", 2)
    await reads.first_began()
    await one_turn()
    assert reads.most_running == 2
    reads.release.set()
    await settled(one, two)
    assert sorted(reads.calls) == [("one", [1]), ("two", [2])]
    assert (one.result(), two.result()) == ({1: "one:1"}, {2: "two:2"})


async def test_a_caller_that_goes_away_leaves_the_read_to_the_others() -> None:
    """Cancelling one caller cancels its wait only: the read goes on for the rest."""
    reads = Reads()
    shared = reads.shared()
    gone, stays = ask(shared, "room", 1, 2)
    await reads.first_began()
    gone.cancel()
    await settled(gone)
    assert gone.cancelled()
    reads.release.set()
    await settled(stays)
    assert stays.result() == {1: "room:1", 2: "room:2"}
    assert clean(shared)


async def test_an_error_goes_to_every_caller_of_the_read() -> None:
    """A read that fails raises its error in each caller waiting for it."""
    reads = Reads()
    reads.fail = "database gone"
    shared = reads.shared()
    callers = ask(shared, "room", 1, 2)
    await reads.first_began()
    reads.release.set()
    await settled(*callers)
    for caller in callers:
        with pytest.raises(LookupError, match="database gone"):
            caller.result()
    assert clean(shared)


async def test_a_failed_read_nobody_waits_for_is_not_reported_unretrieved() -> None:
    """When every caller went away before the read failed, asyncio reports no "exception
    was never retrieved"."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        reads = Reads()
        reads.fail = "database gone"
        shared = reads.shared()
        [gone] = ask(shared, "room", 1)
        await reads.first_began()
        [task] = shared.tasks
        gone.cancel()
        await settled(gone)
        reads.release.set()
        await settled(task)
        assert clean(shared)
        del gone, shared, reads, task
        gc.collect()
        assert reported == []
    finally:
        loop.set_exception_handler(None)


async def test_a_cancelled_read_cancels_its_callers_waits_and_the_next_goes_on() -> None:
    """The read's task cancelled (shutdown): its callers' waits are cancelled, and the
    callers already waiting for the next read still get theirs."""
    reads = Reads()
    spawned: list[asyncio.Task[None]] = []

    def spawn(job: Any, name: str) -> None:
        spawned.append(asyncio.create_task(job, name=name))

    shared = reads.shared(spawn=spawn)
    [first] = ask(shared, "room", 1)
    await reads.first_began()
    [nxt] = ask(shared, "room", 2)
    await one_turn()
    assert [t.get_name() for t in spawned] == ["test-read", "test-read"]
    assert not shared.tasks  # the owner's spawn keeps them
    spawned[0].cancel()
    await settled(first)
    assert first.cancelled()
    reads.release.set()
    await settled(nxt)
    assert nxt.result() == {2: "room:2"}
    await settled(*spawned)
    assert clean(shared)


async def test_a_read_waits_for_the_pause_and_callers_of_the_pause_come_along() -> None:
    """With a `pause`, the read begins only once it is over; those who ask during it are
    read too."""
    reads = Reads()
    paused = asyncio.Event()
    resume = asyncio.Event()

    async def pause(key: str) -> None:
        paused.set()
        await resume.wait()

    shared = reads.shared(pause=pause)
    [first] = ask(shared, "room", 1)
    async with asyncio.timeout(LIMIT):
        await paused.wait()
    [during] = ask(shared, "room", 2)
    await one_turn()
    assert reads.calls == []
    resume.set()
    reads.release.set()
    await settled(first, during)
    assert reads.calls == [("room", [1, 2])]
    assert first.result() == during.result() == {1: "room:1", 2: "room:2"}
    assert clean(shared)


async def test_a_caller_may_ask_for_nothing() -> None:
    """Without an ask the caller shares the read all the same; the read gets no ask of it."""
    reads = Reads()
    shared = reads.shared()
    bare = asyncio.create_task(shared.read("room"))
    [asking] = ask(shared, "room", 7)
    await reads.first_began()
    reads.release.set()
    await settled(bare, asking)
    assert reads.calls == [("room", [7])]
    assert bare.result() == asking.result() == {7: "room:7"}


async def test_a_read_that_ends_before_it_began_leaves_nothing_behind() -> None:
    """A pause that fails fails its callers; a read cancelled in its pause cancels theirs;
    either way nothing of the key is left behind."""
    reads = Reads()
    spawned: list[asyncio.Task[None]] = []
    paused = asyncio.Event()
    failing = True

    async def pause(key: str) -> None:
        if failing:
            raise LookupError("no clock")
        paused.set()
        await asyncio.Event().wait()  # until cancelled

    def spawn(job: Any, name: str) -> None:
        spawned.append(asyncio.create_task(job, name=name))

    shared = reads.shared(pause=pause, spawn=spawn)
    [failed] = ask(shared, "room", 1)
    await settled(failed)
    with pytest.raises(LookupError, match="no clock"):
        failed.result()
    assert clean(shared)
    failing = False
    [cancelled] = ask(shared, "room", 2)
    async with asyncio.timeout(LIMIT):
        await paused.wait()
    spawned[-1].cancel()
    await settled(cancelled, *spawned)
    assert cancelled.cancelled()
    assert clean(shared)
    assert reads.calls == []

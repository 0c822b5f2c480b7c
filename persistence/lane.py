"""A thread of its own that runs blocking calls for the event loop, one at a time, in order.

SQLite's writer and its long reads each run in such a thread. `run_in_executor` would wrap
every call in a concurrent Future chained to an asyncio Future (a second future, a state
copy and a coroutine check per call: a fifth of a lone send's time on the loop); here the
thread hands its result straight to the loop's future.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


class Lane:
    """One thread and its queue of calls (see the module docstring). A daemon: a process
    that exits without closing it cuts a call short, and SQLite rolls that transaction
    back, whose sender had no ack yet."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[[], T]) -> T:
        """`fn()` in the thread, after the calls queued before it. A caller that is
        cancelled stops waiting; the call itself still runs (a transaction is not cut)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._calls.put((loop, fut, fn))
        return await fut

    def close(self) -> None:
        """The thread ends after the calls already queued."""
        self._calls.put(None)

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            loop, fut, fn = call
            try:
                result = fn()
            except BaseException as exc:  # the waiter gets whatever the call raised
                _settle(loop, fut, _fail, exc)
            else:
                _settle(loop, fut, _succeed, result)


def _settle(
    loop: asyncio.AbstractEventLoop,
    fut: asyncio.Future[Any],
    how: Callable[[asyncio.Future[Any], Any], None],
    value: Any,
) -> None:
    try:
        loop.call_soon_threadsafe(how, fut, value)
    except RuntimeError:
        pass  # the loop is closed: nobody waits any more


def _succeed(fut: asyncio.Future[Any], result: Any) -> None:
    if not fut.done():
        fut.set_result(result)


def _fail(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)

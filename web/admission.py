"""Admission for expensive work: a bounded number at once, a bounded waiting line, then 503.

Logins hash with argon2id (tens to hundreds of milliseconds of CPU and 64 MiB each): a storm
of them must queue here, not in the thread pool or for the database's pooled connections
(where it waited 30 s and failed with 500). Beyond the line, or after `max_wait`, the caller
answers 503 with `Retry-After` from the running mean of one unit of work.

The process's gates (logins, WebSocket set-ups) and its socket limits are made once at
start-up (`gates`, kept on `Services`), never on first use in a handler.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from web.settings import Settings
from web.socketlimits import SocketLimits

RETRY_AFTER_MAX = 30.0

# Password checks at once: about one per core, since argon2id is CPU-bound (and 64 MiB each).
LOGINS_IN_FLIGHT = max(2, min(8, os.cpu_count() or 2))
# A login that waited this long for its turn is refused (503) rather than answered late.
LOGIN_MAX_WAIT = 10.0
# A first guess at one login's time (an argon2id check), until the gate has measured some.
LOGIN_MEAN_S = 0.05
# Connection set-ups (session, room list, accept, `hello`) run at most this many at once.
# Those in flight together share their reads (`handshake.ArrivalReads`, up to 64 a
# batch): more at once make larger batches, not a longer queue at the database.
SETUPS_IN_FLIGHT = 64
# An upgrade that waited this long for its turn is refused (503) rather than set up late.
SETUP_MAX_WAIT = 10.0
# A first guess at one set-up's time, until the gate has measured some.
SETUP_MEAN_S = 0.005


class Refused(Exception):
    """The gate is full or the wait was too long; `retry_after` says when to come back."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("refused")
        self.retry_after = retry_after


class AdmissionGate:
    """At most `in_flight` holders at once, `admitted` holding or waiting, each waiting at
    most `max_wait` seconds. `mean_s` is a first guess at one holder's time."""

    __slots__ = ("_slots", "in_flight", "max_wait", "mean_s", "queue", "waiting")

    def __init__(self, in_flight: int, admitted: int, max_wait: float, mean_s: float) -> None:
        self.in_flight = max(1, min(in_flight, admitted))
        self._slots = asyncio.Semaphore(self.in_flight)
        self.queue = admitted - self.in_flight
        self.waiting = 0
        self.max_wait = max_wait
        # A running mean of one holder's time, for `Retry-After`.
        self.mean_s = mean_s

    def retry_after(self) -> float:
        """Seconds until those waiting now are likely through (clients add jitter), at most
        `max_wait`: by then each of them has been let in or refused. A running mean swollen
        by the first set-ups of a herd asked some clients to wait 30 s for a line that was
        gone in 10."""
        ahead = (self.waiting + self.in_flight) * self.mean_s / self.in_flight
        return min(RETRY_AFTER_MAX, self.max_wait, max(1.0, ahead))

    def full(self) -> bool:
        """Whether `enter` would refuse at once: every slot held and the line full."""
        return self._slots.locked() and self.waiting >= self.queue

    async def enter(self) -> float | None:
        """Wait for a slot: the time it was taken, or None when the caller must refuse."""
        if self.full():
            return None
        self.waiting += 1
        try:
            async with asyncio.timeout(self.max_wait):
                await self._slots.acquire()
        except TimeoutError:
            return None
        finally:
            self.waiting -= 1
        return time.monotonic()

    def leave(self, entered: float, measured: bool = True) -> None:
        """Give back the slot taken at `entered`; `measured=False`: no work was done in it,
        so its time says nothing of a holder's."""
        self._slots.release()
        if measured:
            self.mean_s += (time.monotonic() - entered - self.mean_s) * 0.05

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold a slot for the body of the `async with`; raises `Refused` when none comes."""
        entered = await self.enter()
        if entered is None:
            raise Refused(self.retry_after())
        try:
            yield
        finally:
            self.leave(entered)


# The key under which the lifespan offers the set-up gate to the server (the ASGI lifespan
# state: uvicorn hands it to each connection's protocol), so that web/guard.py can refuse an
# upgrade over the gate before the WebSocket handshake is parsed (`web.ws.refusal_now`).
SETUP_GATE_STATE = "werkplaats.ws_setup_gate"


@dataclass(frozen=True, slots=True)
class Gates:
    """What admits work in this process: logins, WebSocket set-ups, and open sockets."""

    login: AdmissionGate
    ws_setup: AdmissionGate
    sockets: SocketLimits


def gates(settings: Settings) -> Gates:
    """The process's gates for these settings, made once at start-up."""
    return Gates(
        AdmissionGate(LOGINS_IN_FLIGHT, settings.login_admitted, LOGIN_MAX_WAIT, LOGIN_MEAN_S),
        AdmissionGate(SETUPS_IN_FLIGHT, settings.ws_setups, SETUP_MAX_WAIT, SETUP_MEAN_S),
        SocketLimits(settings.ws_max_per_user, settings.ws_max_per_address),
    )

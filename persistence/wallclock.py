"""The wall clock that every decision reads: the database's, carried by this process.

Application hosts' clocks differ (docs/reliability.md, "Clocks"); the database is the one
place they all share. `follow` reads the database's clock and keeps it as an anchor on
this process's monotonic clock, so `now()` is the database's time wherever it runs and a
step of the host's wall clock (NTP, an operator, a VM resumed) changes nothing here.
Before the first reading (a command line run, a test) it is the host's clock.

The send path reads the database's time itself with its facts (`persistence.sends`):
what is stored and decided at write time is on that clock exactly.

`WERKPLAATS_CLOCK_OFFSET_SECONDS` (`set_step`) is a drill setting: it shifts what this
process reads as the host's wall clock, as a stepped host clock would.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from persistence.db import Database

log = logging.getLogger(__name__)

# How often the database's clock is read again: the monotonic clock drifts by parts per
# million, so this bounds the drift to well under a millisecond.
FOLLOW_SECONDS = 60.0
# A host clock further than this from the database's is logged: NTP is not doing its work.
WARN_SKEW_SECONDS = 2.0

_step = 0.0
# (the database's epoch seconds, this process's monotonic seconds at that moment)
_anchor: tuple[float, float] | None = None

_DB_EPOCH = {
    "postgresql": "SELECT extract(epoch FROM clock_timestamp())",
    "sqlite": "SELECT (julianday('now') - 2440587.5) * 86400.0",
}


def set_step(seconds: float) -> float:
    """Shift this process's host wall clock by `seconds` (a drill; 0 in production); the
    step it had."""
    global _step
    before, _step = _step, float(seconds)
    return before


def host_time() -> float:
    """The host's wall clock in epoch seconds (stepped by the drill setting)."""
    return time.time() + _step


def now() -> float:
    """Epoch seconds on the database's clock (the host's until the first reading)."""
    if _anchor is None:
        return host_time()
    at, mono = _anchor
    return at + (time.monotonic() - mono)


def utcnow() -> datetime:
    """`now()` as an aware UTC datetime."""
    return datetime.fromtimestamp(now(), UTC)


def forget() -> None:
    """Drop the anchor: the host's clock again (tests, and a process that stops)."""
    global _anchor
    _anchor = None


async def read_database(db: Database) -> float:
    """Read the database's clock once and anchor on it; the host clock's skew from it."""
    async with db.read_engine.connect() as conn:
        sent = time.monotonic()
        value = (await conn.execute(text(_DB_EPOCH[db.dialect]))).scalar_one()
        received = time.monotonic()
    global _anchor
    # The reading was taken somewhere within the round trip: its middle is the best guess.
    mid = (sent + received) / 2
    _anchor = (float(value), mid)
    skew = host_time() - (float(value) + (time.monotonic() - mid))
    if abs(skew) > WARN_SKEW_SECONDS:
        log.warning("clock: this host's clock is %.1f s off the database's", skew)
    return skew


async def try_read(db: Database) -> None:
    """`read_database`; a database that does not answer leaves the anchor as it was."""
    try:
        await read_database(db)
    except Exception as exc:  # down or unreachable: /readyz says so, `follow` tries again
        log.warning("clock: reading the database's clock failed (%r)", exc)


async def follow(db: Database, every: float = FOLLOW_SECONDS) -> None:
    """Read the database's clock every `every` seconds, for as long as the task runs."""
    while True:
        # Soon again while there is no reading yet (the database was down at start).
        await asyncio.sleep(every if _anchor is not None else min(every, 5.0))
        await try_read(db)

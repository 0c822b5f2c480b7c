"""One clock for what is stored and decided (docs/reliability.md, "Clocks"): sends take the
database's time whatever this host's clock says, and the process clock follows the
database's. `WERKPLAATS_CLOCK_OFFSET_SECONDS` (`wallclock.set_step`) makes the host clock
hours off here; the multi-host form is tests/net/test_clock_step.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from chat import store
from chat.store import Acked
from persistence import wallclock
from persistence.db import Database
from persistence.models import Ban, Message, Room, User, iso
from rooms.errors import Forbidden, RateLimited
from tests.persistence.test_sends import request

HOURS = 3600.0


@pytest.fixture
def host_clock() -> Iterator[None]:
    """The host's own clock for the test (no anchor), the drill's step undone after it."""
    wallclock.forget()
    try:
        yield
    finally:
        wallclock.set_step(0)
        wallclock.forget()


def real_now() -> datetime:
    # On one machine the database's clock is this machine's: the unstepped system clock.
    return datetime.now(UTC)


async def stored_at(db: Database, message_id: int) -> datetime:
    async with db.read() as s:
        found = await s.execute(select(Message.created_at).where(Message.id == message_id))
        return found.scalar_one()


@pytest.mark.usefixtures("host_clock")
async def test_sends_are_stamped_with_the_database_clock(database: Database) -> None:
    """The first send reads its facts, the next (PostgreSQL) takes the one-statement path;
    both store and acknowledge the database's time, not the host's hour ahead."""
    wallclock.set_step(2 * HOURS)
    for cid in ("a", "b", "c"):
        [ack] = await store.post_many(database, [await request(database, "ann", "theme-one", cid)])
        assert isinstance(ack, Acked) and ack.event is not None
        at = await stored_at(database, ack.message_id)
        assert abs((at - real_now()).total_seconds()) < 60, (cid, at)
        assert ack.event.created_at == iso(at)


@pytest.mark.usefixtures("host_clock")
async def test_slow_mode_and_bans_decide_on_the_database_clock(database: Database) -> None:
    """A post made while the host's clock was an hour behind still holds the next one back
    when the host's clock has jumped two hours on; a ban's `until` an hour away holds."""
    async with database.write() as s:
        await s.execute(update(Room).where(Room.slug == "theme-two").values(slow_mode_seconds=60))
    wallclock.set_step(-HOURS)
    first = await store.post(database, await request(database, "ann", "theme-two", "s1"))
    wallclock.set_step(HOURS)
    for cid in ("s2", "s3"):  # PostgreSQL: the first the checked path, the second the lone one
        with pytest.raises(RateLimited):
            await store.post(database, await request(database, "ann", "theme-two", cid))
    assert abs((await stored_at(database, first.message_id) - real_now()).total_seconds()) < 60

    async with database.write() as s:
        user = (await s.execute(select(User.id).where(User.username == "amy"))).scalar_one()
        room = (await s.execute(select(Room.id).where(Room.slug == "theme-one"))).scalar_one()
        s.add(Ban(room_id=room, user_id=user, until=real_now() + timedelta(hours=1)))
    wallclock.set_step(2 * HOURS)
    for cid in ("b1", "b2"):
        with pytest.raises(Forbidden):
            await store.post(database, await request(database, "amy", "theme-one", cid))


@pytest.mark.usefixtures("host_clock")
async def test_the_process_clock_follows_the_database(database: Database) -> None:
    """Once anchored, `utcnow` is the database's time, whatever the host's clock says."""
    wallclock.set_step(300)
    assert (wallclock.utcnow() - real_now()).total_seconds() > 290
    skew = await wallclock.read_database(database)
    assert 290 < skew < 310
    assert abs((wallclock.utcnow() - real_now()).total_seconds()) < 5
    wallclock.set_step(-300)  # a step after the reading changes nothing
    assert abs((wallclock.utcnow() - real_now()).total_seconds()) < 5

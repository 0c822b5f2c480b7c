"""The backlog reader's events are exactly what the events API reads, on both databases."""

from __future__ import annotations

from sqlalchemy import select

from chat.frames import encode, event_frame
from persistence import backlog
from persistence.db import Database
from persistence.events import append_event, events_page
from persistence.models import Room, User
from tests.persistence.posting import post
from tests.persistence.test_handshake import _history


async def test_backlog_events_are_the_events_page_events(database: Database) -> None:
    """Messages, edits, hidden messages and other events come out as `events_page` reads them."""
    await _history(database)
    posted = await post(database, "theme-one", "mo", "vastgeprikt", "pin-1")
    async with database.write() as s:
        room = (await s.execute(select(Room).where(Room.slug == "theme-one"))).scalar_one()
        mo = (await s.execute(select(User).where(User.username == "mo"))).scalar_one()
        await append_event(s, room.id, "message_pinned", message_id=posted.message_id, data={})
        data = {"topic": "Nieuw", "by": "mo"}
        await append_event(s, room.id, "room_updated", actor_id=mo.id, data=data)
    async with database.read() as s:
        for slug in ("theme-one", "area-a", "meeting-one"):
            room = (await s.execute(select(Room).where(Room.slug == slug))).scalar_one()
            for after in (0, 2, 5):
                page, _ = await events_page(s, room.id, after=after, limit=1000)
                conn = await s.connection()
                got = await conn.run_sync(backlog.read_events, room.id, after, room.last_seq)
                assert got == page
                assert [encode(event_frame(slug, e)) for e in got] == [
                    encode(event_frame(slug, e)) for e in page
                ]


def test_a_timestamp_written_without_microseconds_is_still_read() -> None:
    """Rows written by other tools (e.g. CURRENT_TIMESTAMP) lack the fraction."""
    assert backlog._stamp("2026-11-28 19:29:09") == "2026-11-28T19:29:09.000Z"
    assert backlog._stamp("2026-11-28 19:29:09.222434") == "2026-11-28T19:29:09.222Z"
    assert backlog._stamp(None) is None

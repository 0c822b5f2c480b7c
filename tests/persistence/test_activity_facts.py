"""The facts an `activity` flush reads: each room once, with all of its bans."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from persistence import handshake
from persistence.activity_facts import read_room_readers
from persistence.db import Database
from persistence.models import Ban, Room, User, utcnow
from rooms.model import Restriction, RoomKind, RoomRef


async def test_rooms_with_their_bans_active_or_ended(database: Database) -> None:
    """A room with two bans (one ended), a locked room without any, an unknown slug left out."""
    ended = utcnow().replace(microsecond=0) - timedelta(days=1)
    async with database.write() as s:
        users = {u.username: u.id for u in (await s.execute(select(User))).scalars()}
        rooms = {r.slug: r for r in (await s.execute(select(Room))).scalars()}
        theme, area = rooms["theme-one"], rooms["area-a"]
        s.add(Ban(room_id=theme.id, user_id=users["bob"], until=None))
        s.add(Ban(room_id=theme.id, user_id=users["amy"], until=ended))
        await s.execute(update(Room).where(Room.id == area.id).values(locked=True))
        expected = {
            "theme-one": RoomRef(theme.id, "theme-one", RoomKind(theme.kind), False, False),
            "area-a": RoomRef(area.id, "area-a", RoomKind(area.kind), True, False),
        }
    got = await handshake.run(database, read_room_readers, ["theme-one", "area-a", "no-such"])
    assert got.rooms == expected
    assert got.bans == {
        (theme.id, users["bob"]): Restriction(None),
        (theme.id, users["amy"]): Restriction(ended),
    }

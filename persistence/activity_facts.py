"""What `activity` frames need to obey the read rule: the rooms' access facts and their bans.

One call per flush of the activity feed (chat/activity.py), for every room that had
activity in it, whatever the number of readers: two statements on primary keys. Bans are
few, so all of a room's bans are read, not one per reader.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, select

from persistence.models import Ban, Room
from rooms.model import Restriction, RoomKind, RoomRef


@dataclass(frozen=True, slots=True)
class RoomReaders:
    """Rooms by slug, and their bans by (room id, user id), as `may_read` takes them."""

    rooms: dict[str, RoomRef]
    bans: dict[tuple[int, int], Restriction]


def read_room_readers(conn: Connection, slugs: Collection[str]) -> RoomReaders:
    """The rooms with these slugs and every ban in them (active or not: `may_read` decides)."""
    rooms = {
        slug: RoomRef(rid, slug, RoomKind(kind), locked, archived)
        for rid, slug, kind, locked, archived in conn.execute(
            select(Room.id, Room.slug, Room.kind, Room.locked, Room.archived).where(
                Room.slug.in_(list(slugs))
            )
        )
    }
    bans = {
        (rid, uid): Restriction(until)
        for rid, uid, until in conn.execute(
            select(Ban.room_id, Ban.user_id, Ban.until).where(
                Ban.room_id.in_([r.id for r in rooms.values()])
            )
        )
    }
    return RoomReaders(rooms, bans)

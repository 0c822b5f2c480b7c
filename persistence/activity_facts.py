"""What `activity` frames need to obey the read rule: the rooms' access facts and their bans.

One call per flush of the activity feed (chat/activity.py), for every room that had
activity in it, whatever the number of readers: two statements on primary keys. Bans are
few, so all of a room's bans are read, not one per reader.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection

from persistence.access_facts import room_bans, room_refs
from rooms.model import Restriction, RoomRef


@dataclass(frozen=True, slots=True)
class RoomReaders:
    """Rooms by slug, and their bans by (room id, user id), as `may_read` takes them."""

    rooms: dict[str, RoomRef]
    bans: dict[tuple[int, int], Restriction]


def read_room_readers(conn: Connection, slugs: Collection[str]) -> RoomReaders:
    """The rooms with these slugs and every ban in them (active or not: `may_read` decides)."""
    rooms = room_refs(conn, slugs)
    return RoomReaders(rooms, room_bans(conn, rooms.values()))

"""What `activity` frames need to obey the read rule: the rooms' access facts and their bans.

One call per flush of the activity feed (chat/activity.py), for every room that had
activity in it, whatever the number of readers: one prebuilt statement per room (a flush
usually has one), the room's row with each of its bans. Bans are few, so all of a room's
bans are read, not one per reader.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select

from persistence.models import Ban, Room
from persistence.prepared import Prepared
from rooms.model import Restriction, RoomKind, RoomRef


@dataclass(frozen=True, slots=True)
class RoomReaders:
    """Rooms by slug, and their bans by (room id, user id), as `may_read` takes them."""

    rooms: dict[str, RoomRef]
    bans: dict[tuple[int, int], Restriction]


class _Row(NamedTuple):
    id: int
    kind: str
    locked: bool
    archived: bool
    banned: int | None
    until: datetime | None


# Prebuilt: a flush runs every quarter second while a room is busy, and SQLAlchemy's
# execution of the two statements this replaced cost more than a millisecond a flush.
_ROOM_AND_BANS = Prepared(
    select(Room.id, Room.kind, Room.locked, Room.archived, Ban.user_id, Ban.until)
    .outerjoin(Ban, Ban.room_id == Room.id)
    .where(Room.slug == bindparam("slug")),
    _Row,
)


def read_room_readers(conn: Connection, slugs: Collection[str]) -> RoomReaders:
    """The rooms with these slugs and every ban in them (active or not: `may_read` decides)."""
    rooms: dict[str, RoomRef] = {}
    bans: dict[tuple[int, int], Restriction] = {}
    for slug in slugs:
        rows: list[_Row] = _ROOM_AND_BANS.rows(conn, {"slug": slug})
        if not rows:
            continue
        first = rows[0]
        rooms[slug] = RoomRef(first.id, slug, RoomKind(first.kind), first.locked, first.archived)
        for row in rows:
            if row.banned is not None:
                bans[(row.id, row.banned)] = Restriction(row.until)
    return RoomReaders(rooms, bans)

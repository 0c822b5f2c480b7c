"""Whose names a participant may look up in the person picker: people they share a room with."""

from __future__ import annotations

from collections.abc import Iterable

from rooms.model import RoomKind, RoomRef

# Rooms every participant reads: sharing one of these means sharing a room with everyone.
OPEN_KINDS = frozenset({RoomKind.THEME, RoomKind.MEETING})
# At most this many people per answer: a picker needs a handful, an enumeration needs all.
MAX_PEOPLE = 10
MAX_QUERY_CHARS = 64


def people_scope(readable: Iterable[RoomRef]) -> frozenset[int] | None:
    """None: everyone (one of the rooms is open to every participant); else the ids of the
    rooms whose team, moderators and staff may be named."""
    ids: set[int] = set()
    for room in readable:
        if room.kind in OPEN_KINDS:
            return None
        ids.add(room.id)
    return frozenset(ids)


def like_pattern(query: str) -> str:
    """The query as a LIKE pattern for "contains", its wildcards escaped with a backslash."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"

"""Value objects of the domain: frozen, comparable, free of any storage concern."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class Layer(StrEnum):
    """The four layers of Dutch government, and the rest."""

    RIJK = "rijk"
    PROVINCIE = "provincie"
    GEMEENTE = "gemeente"
    WATERSCHAP = "waterschap"
    OVERIG = "overig"


class Role(StrEnum):
    """A user's global role; room moderators are granted per room on top of this."""

    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


class RoomKind(StrEnum):
    AREA = "area"
    THEME = "theme"
    MEETING = "meeting"
    # A conversation of a few people (rooms.conversations): readable by its members only.
    DIRECT = "direct"


SLUG_RE = re.compile(r"[a-z0-9-]{1,64}")
USERNAME_RE = re.compile(r"[a-z0-9._-]{2,32}")
MAX_BODY_CHARS = 4000
MAX_CLIENT_ID_CHARS = 64


# Shared by every actor with no area team or moderated room (most): an empty frozenset made
# from an iterable is a new 216-byte object each time, held by each open connection.
NO_ROOMS: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: enough to decide permissions without touching storage."""

    user_id: int
    username: str
    role: Role
    area_room_ids: frozenset[int] = NO_ROOMS
    moderated_room_ids: frozenset[int] = NO_ROOMS

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)


class RoomRef(NamedTuple):
    """The facts about a room that access rules need.

    A named tuple, not a frozen dataclass: a room list builds one per room for every
    connection set up, and a named tuple is less than half the cost to build.
    """

    id: int
    slug: str
    kind: RoomKind
    locked: bool = False
    archived: bool = False


@dataclass(frozen=True, slots=True)
class Restriction:
    """A ban or mute of one user in one room; `until=None` means until lifted."""

    until: datetime | None

    def active(self, now: datetime) -> bool:
        return self.until is None or self.until > now

"""What a search may look at, as SQL: the caller's readable rooms and the filters.

The permission filter is a subquery of the search statement itself, evaluated by the
database with the rest, so nothing about an unreadable room (hit, count, snippet, or a
page that comes back short) ever reaches Python. It mirrors `rooms.access.may_read`:

- staff (role moderator or admin) read every room;
- theme and meeting rooms are open to every participant; any other kind (area rooms,
  and kinds added later) only to its members and its room moderators;
- an active ban shuts a user out of the room unless they moderate it;
- a direct conversation is open to its members only, staff or not, and a ban there
  holds for everyone.

Unknown kinds are closed, not open: a new kind of room must opt in here to be found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select

from persistence.markfilters import marked_message_ids, tagged_message_ids
from persistence.models import Ban, Membership, Message, Room, RoomModerator, User
from persistence.topics import named
from rooms.marks import MarkKind

OPEN_KINDS = ("theme", "meeting")
DIRECT = "direct"
STAFF_ROLES = ("moderator", "admin")


@dataclass(frozen=True, slots=True)
class Filters:
    """Narrowing of a search; `after` is inclusive, `before` exclusive."""

    room_id: int | None = None
    author: str | None = None
    layer: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    mark: str | None = None  # vraag | besluit | actiepunt (persistence/marks.py)
    open_only: bool = False  # with `mark`: unanswered questions, open action items
    theme: str | None = None  # messages tagged with this theme (slug)
    topic: str | None = None  # messages of this topic, or of a topic renamed from it

    def describe(self) -> str:
        return "|".join(
            str(v)
            for v in (
                self.room_id,
                self.author,
                self.layer,
                self.after,
                self.before,
                self.mark,
                self.open_only,
                self.theme,
                self.topic,
            )
        )


def readable_room_ids(user_id: int, now: datetime) -> Select[Any]:
    """The ids of the rooms the user may read now, as a subquery."""
    staff = exists().where(User.id == user_id, User.role.in_(STAFF_ROLES))
    moderates = exists().where(RoomModerator.room_id == Room.id, RoomModerator.user_id == user_id)
    member = exists().where(Membership.room_id == Room.id, Membership.user_id == user_id)
    banned = exists().where(
        Ban.room_id == Room.id,
        Ban.user_id == user_id,
        or_(Ban.until.is_(None), Ban.until > now),
    )
    direct = Room.kind == DIRECT
    return select(Room.id).where(
        or_(and_(~direct, or_(staff, Room.kind.in_(OPEN_KINDS), member, moderates)),
            and_(direct, member)),
        or_(and_(~direct, or_(staff, moderates)), ~banned),
    )  # fmt: skip


def conditions(user_id: int, now: datetime, filters: Filters) -> list[ColumnElement[bool]]:
    """Every condition on `messages` besides the text match: visible, readable, filtered."""
    where: list[ColumnElement[bool]] = [
        Message.hidden.is_(False),
        Message.room_id.in_(readable_room_ids(user_id, now)),
    ]
    if filters.room_id is not None:
        where.append(Message.room_id == filters.room_id)
    if filters.author is not None:
        where.append(Message.author_id.in_(select(User.id).where(User.username == filters.author)))
    if filters.layer is not None:
        where.append(Message.author_id.in_(select(User.id).where(User.layer == filters.layer)))
    if filters.after is not None:
        where.append(Message.created_at >= filters.after)
    if filters.before is not None:
        where.append(Message.created_at < filters.before)
    if filters.mark is not None or filters.theme is not None:
        where += _mark_and_theme(filters)
    if filters.topic is not None:
        where.append(named(filters.topic))
    return where


def _mark_and_theme(filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.mark is not None:
        marked = marked_message_ids(MarkKind(filters.mark), filters.open_only)
        where.append(Message.id.in_(marked))
    if filters.theme is not None:
        where.append(Message.id.in_(tagged_message_ids(filters.theme)))
    return where

"""Who may read, post and moderate: small decision functions over value objects."""

from __future__ import annotations

from datetime import datetime

from rooms.errors import Forbidden, Muted, RoomLocked
from rooms.model import Actor, Restriction, Role, RoomKind, RoomRef


def may_moderate(actor: Actor, room: RoomRef) -> bool:
    """Admins and global moderators everywhere; a room moderator only in that room."""
    return actor.is_staff or room.id in actor.moderated_room_ids


def sanctions_bind(actor: Actor, room: RoomRef) -> bool:
    """Whether the actor's bans and mutes in the room hold: not for those who moderate it.

    An active ban or mute refuses a post exactly when this is true; the send's write
    re-checks sanctions in SQL with it (tied to `check_post` in tests/rooms).
    """
    return not may_moderate(actor, room)


def may_read(actor: Actor, room: RoomRef, ban: Restriction | None, now: datetime) -> bool:
    """Theme and meeting rooms are open to every participant; area rooms to the team and
    staff; a direct conversation to its members only, staff included."""
    if room.kind is RoomKind.DIRECT:
        # Members only: no role opens someone else's private conversation.
        return room.id in actor.area_room_ids and not (ban is not None and ban.active(now))
    if ban is not None and ban.active(now) and sanctions_bind(actor, room):
        return False
    if room.kind is RoomKind.AREA:
        return room.id in actor.area_room_ids or may_moderate(actor, room)
    return True


def open_to_all(room: RoomRef) -> bool:
    """Whether `may_read` opens the room to every actor who is not banned in it: a fan-out
    over many readers may then skip judging each of them."""
    return room.kind is not RoomKind.AREA and room.kind is not RoomKind.DIRECT


def area_rooms_open_to(actor: Actor) -> frozenset[int] | None:
    """The area rooms (and direct conversations) `may_read` opens to the actor unless
    banned; None: all area rooms (staff), and the actor's own direct conversations.

    For a query that narrows the rooms before `may_read` decides: it may read more, never
    fewer, than the actor may read.
    """
    if actor.is_staff:
        return None
    return actor.area_room_ids | actor.moderated_room_ids


def check_read(actor: Actor, room: RoomRef, ban: Restriction | None, now: datetime) -> None:
    if not may_read(actor, room, ban, now):
        raise Forbidden(f"you may not read room {room.slug}")


def check_post(
    actor: Actor,
    room: RoomRef,
    ban: Restriction | None,
    mute: Restriction | None,
    now: datetime,
) -> None:
    """Raise the contract's refusal when the actor may not post in the room now."""
    check_read(actor, room, ban, now)
    moderator = may_moderate(actor, room)
    if room.archived:
        raise RoomLocked(f"room {room.slug} is archived")
    if room.locked and not moderator:
        raise RoomLocked(f"room {room.slug} is locked")
    if mute is not None and mute.active(now) and sanctions_bind(actor, room):
        raise Muted(f"you are muted in room {room.slug}")


def check_moderate(actor: Actor, room: RoomRef) -> None:
    if not may_moderate(actor, room):
        raise Forbidden(f"you may not moderate room {room.slug}")


def check_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden("only admins may do this")

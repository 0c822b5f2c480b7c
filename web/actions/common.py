"""Who acts, and the look-ups that acts begin with inside their transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import events
from persistence.accounts import actor_for, user_by_name
from persistence.models import Message, Room, User, utcnow
from persistence.moderation import Source
from persistence.rooms import room_ref
from rooms.access import check_admin, check_moderate, may_read
from rooms.errors import NotFound
from rooms.model import SLUG_RE, USERNAME_RE, Actor, Restriction


@dataclass(frozen=True, slots=True)
class Acting:
    """Who acts, as the audit log records it; `actor` is the member the rules check, or
    None for the operator at the host's console, who may do anything."""

    source: Source
    actor: Actor | None = None

    @classmethod
    def member(cls, actor: Actor, address: str) -> Acting:
        """A signed-in member acting from `address`."""
        return cls(Source(actor.username, address), actor)

    def check_admin(self) -> None:
        if self.actor is not None:
            check_admin(self.actor)

    def check_moderate(self, room: Room) -> None:
        if self.actor is not None:
            check_moderate(self.actor, room_ref(room))


async def find_room(session: AsyncSession, slug: str, *, lock: bool = True) -> Room:
    """The room by slug; `lock` takes its row lock (PostgreSQL) so that the checks and the
    act that follow cannot interleave with another moderator's on the same room
    (SQLite's BEGIN IMMEDIATE serialises writers already)."""
    query = select(Room).where(Room.slug == slug)
    room = None
    if SLUG_RE.fullmatch(slug):
        room = (
            await session.execute(query.with_for_update() if lock else query)
        ).scalar_one_or_none()
    if room is None:
        raise NotFound(f"no room {slug!r}")
    return room


async def moderated_room(
    session: AsyncSession, acting: Acting, slug: str, *, lock: bool = True
) -> Room:
    """The room, which the one acting must be allowed to moderate."""
    room = await find_room(session, slug, lock=lock)
    acting.check_moderate(room)
    return room


async def find_user(session: AsyncSession, username: str) -> User:
    user = await user_by_name(session, username) if USERNAME_RE.fullmatch(username) else None
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


async def find_message(session: AsyncSession, room: Room, message_id: int) -> Message:
    message = await events.get_message(session, room.id, message_id)
    if message is None:
        raise NotFound(f"no message {message_id} in room {room.slug}")
    return message


async def still_reads(
    session: AsyncSession, room: Room, user: User, ban: Restriction | None
) -> bool:
    """Whether the user may still read the room after losing a role in it."""
    return may_read(await actor_for(session, user), room_ref(room), ban, utcnow())


async def user_row(session: AsyncSession, actor: Actor) -> User:
    """The member acting, as a row of this transaction."""
    user = await session.get(User, actor.user_id)
    assert user is not None  # a member signed in a moment ago
    return user

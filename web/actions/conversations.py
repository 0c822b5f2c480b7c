"""Conversation acts: opening a direct conversation, renaming or merging a topic."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import events
from persistence import moderation as repo
from persistence.accounts import user_by_name
from persistence.db import Database
from persistence.models import Membership, Room, User, utcnow
from persistence.topics import rename_topic
from rooms.conversations import clean_topic, direct_name, direct_others, direct_slug
from rooms.errors import BadRequest, NotFound
from rooms.model import Actor, RoomKind
from web.actions.common import Acting, moderated_room
from web.actions.publish import Published, event


@dataclass(frozen=True, slots=True)
class Direct:
    """A direct conversation: its slug, its members' usernames (sorted) and ids, and whether
    this call made it (then its members' open connections are told)."""

    slug: str
    members: list[str]
    member_ids: list[int]
    new: bool = False


async def open_direct(db: Database, actor: Actor, usernames: list[str]) -> Direct:
    """The direct conversation of the actor and these others, made on first use: the same
    room every time for the same set of people."""
    others = direct_others(actor.username, usernames)
    for attempt in (1, 2):
        try:
            async with db.write() as session:
                return await _open_direct(session, actor, others)
        except IntegrityError:
            # Someone opened the same conversation at the same moment: it exists now.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _open_direct(session: AsyncSession, actor: Actor, others: list[str]) -> Direct:
    users: list[User] = []
    for name in others:
        user = await user_by_name(session, name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        users.append(user)
    me = await session.get(User, actor.user_id)
    assert me is not None  # signed in a moment ago
    users.append(me)
    slug = direct_slug([u.id for u in users])
    members = sorted(u.username for u in users)
    room = (await session.execute(select(Room).where(Room.slug == slug))).scalar_one_or_none()
    ids = sorted(u.id for u in users)
    if room is not None:
        return Direct(slug, members, ids)
    room = Room(
        slug=slug,
        name=direct_name([u.display_name for u in users]),
        kind=RoomKind.DIRECT.value,
        topic="",
        created_at=utcnow(),
    )
    session.add(room)
    await session.flush()
    session.add_all(Membership(room_id=room.id, user_id=u.id, joined_at=utcnow()) for u in users)
    await session.flush()
    return Direct(slug, members, ids, new=True)


@dataclass(frozen=True, slots=True)
class Renamed:
    old: str
    new: str
    messages: int
    seq: int


async def rename(
    db: Database, acting: Acting, slug: str, old_raw: str, new_raw: str, reason: str
) -> tuple[Renamed, Published]:
    """Rename a topic of the room (merge it, when `new` is a topic already): a room event
    `topic_renamed`; search still finds the messages by the old name."""
    old, new = clean_topic(old_raw), clean_topic(new_raw)
    if old is None or new is None:
        raise BadRequest("old and new must each be a topic of 1 to 60 characters")
    if old == new:
        raise BadRequest("the new name is the old one")
    async with db.write() as session:
        room = await moderated_room(session, acting, slug)
        changed = await rename_topic(session, room.id, old, new)
        if changed == 0:
            raise NotFound(f"no topic {old!r} in room {room.slug}")
        by = acting.source.actor
        renamed = await events.append_event(
            session, room.id, "topic_renamed", data={"by": by, "old": old, "new": new}
        )
        await repo.record(
            session,
            acting.source,
            "rename_topic",
            room=room.slug,
            reason=reason,
            details={"old": old, "new": new, "messages": changed, "seq": renamed.seq},
        )
        stored = events.stored_event(renamed)
    return Renamed(old, new, changed, renamed.seq), event(room.slug, stored)

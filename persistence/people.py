"""The person picker's query: active people whose name, username or organisation matches."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Membership, Room, RoomModerator, User, utcnow
from persistence.rooms import active_bans, room_ref
from rooms.access import may_read
from rooms.model import Actor, RoomKind, RoomRef
from rooms.people import like_pattern

STAFF_ROLES = ("moderator", "admin")


async def readable_refs(session: AsyncSession, actor: Actor) -> list[RoomRef]:
    """The rooms the actor may read, as the access rules see them (no counts)."""
    now = utcnow()
    bans = await active_bans(session, actor.user_id, now)
    rooms = (await session.execute(select(Room))).scalars().all()
    refs = [room_ref(r) for r in rooms]
    return [r for r in refs if may_read(actor, r, bans.get(r.id), now)]


async def matching_people(
    session: AsyncSession,
    query: str,
    *,
    room_ids: Collection[int] | None,
    with_staff: bool,
    limit: int,
) -> list[User]:
    """Active people matching `query`, by display name; `room_ids` (None: anyone) narrows to
    the team and moderators of those rooms, and the staff when `with_staff`."""
    pattern = like_pattern(query)
    found = (
        select(User)
        .where(
            User.disabled_at.is_(None),
            User.pseudonymised.is_(False),
            or_(
                User.username.ilike(pattern, escape="\\"),
                User.display_name.ilike(pattern, escape="\\"),
                User.organisation.ilike(pattern, escape="\\"),
            ),
        )
        .order_by(User.display_name, User.username)
        .limit(limit)
    )
    if room_ids is not None:
        ids = list(room_ids)
        members = select(Membership.user_id).where(Membership.room_id.in_(ids))
        moderators = select(RoomModerator.user_id).where(RoomModerator.room_id.in_(ids))
        allowed = [User.id.in_(members), User.id.in_(moderators)]
        if with_staff:
            allowed.append(User.role.in_(STAFF_ROLES))
        found = found.where(or_(*allowed))
    return list((await session.execute(found)).scalars())


def staff_read(kind: RoomKind) -> bool:
    """Whether staff read rooms of this kind without being members (not direct ones)."""
    return kind is not RoomKind.DIRECT

"""Users and sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import handshake
from persistence.models import (
    AccountToken,
    Invitation,
    Membership,
    Room,
    RoomModerator,
    Session,
    User,
    utcnow,
)
from rooms.model import Actor


async def user_by_name(
    session: AsyncSession, username: str, *, include_disabled: bool = False
) -> User | None:
    """The user by username; a disabled account is not found (so it cannot log in) unless
    `include_disabled` (operator commands that manage it)."""
    query = select(User).where(User.username == username)
    if not include_disabled:
        query = query.where(User.disabled_at.is_(None))
    return (await session.execute(query)).scalar_one_or_none()


async def actor_for(session: AsyncSession, user: User) -> Actor:
    """The user's permissions (role, area rooms, moderated rooms), disabled or not, as the
    session's transaction sees them."""
    await session.flush()
    conn = await session.connection()
    found = await conn.run_sync(handshake.read_actor, user.id, disabled_too=True)
    assert found is not None, "a user the session holds"
    return found


async def create_session(
    session: AsyncSession, user_id: int, token_hash: str, expires_at: datetime
) -> Session:
    row = Session(user_id=user_id, token_hash=token_hash, expires_at=expires_at)
    session.add(row)
    await session.flush()
    return row


async def revoke_session(session: AsyncSession, token_hash: str) -> int | None:
    """Revoke one session; returns its user id, or None if there was none."""
    result = await session.execute(
        update(Session)
        .where(Session.token_hash == token_hash, Session.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(Session.user_id)
    )
    return result.scalar_one_or_none()


async def revoke_user_sessions(
    session: AsyncSession, user_id: int, *, keep: str | None = None
) -> None:
    """Revoke every session of the user, except the one with token hash `keep`."""
    query = update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None))
    if keep is not None:
        query = query.where(Session.token_hash != keep)
    await session.execute(query.values(revoked_at=utcnow()))


async def replace_password_hash(session: AsyncSession, user_id: int, old: str, new: str) -> None:
    """Store an upgraded hash unless the password changed since `old` was read."""
    await session.execute(
        update(User).where(User.id == user_id, User.password_hash == old).values(password_hash=new)
    )


async def set_password_hash(session: AsyncSession, user_id: int, new: str) -> None:
    await session.execute(update(User).where(User.id == user_id).values(password_hash=new))


async def users_with_email(
    session: AsyncSession, email: str, *, include_disabled: bool = False
) -> list[User]:
    """Accounts with this address (lower case), at most two: one is a match."""
    query = select(User).where(User.email == email)
    if not include_disabled:
        query = query.where(User.disabled_at.is_(None))
    return list((await session.execute(query.order_by(User.id).limit(2))).scalars())


async def latest_open_invitation(session: AsyncSession, email: str) -> Invitation | None:
    query = (
        select(Invitation)
        .where(Invitation.email == email, *_usable(Invitation, utcnow()))
        .order_by(Invitation.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def find_users(session: AsyncSession, search: str, limit: int) -> list[User]:
    """Accounts whose username, name, organisation or address contains `search`, by username."""
    query = select(User).order_by(User.username).limit(limit)
    if search:
        # LIKE's wildcards in the search are meant literally.
        pattern = (
            "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        query = query.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (User.username, User.display_name, User.organisation, User.email)
                )
            )
        )
    return list((await session.execute(query)).scalars())


async def _rooms_by_user(
    session: AsyncSession,
    link: type[Membership] | type[RoomModerator],
    user_ids: Sequence[int],
    kind: str | None = None,
) -> dict[int, list[str]]:
    query = (
        select(link.user_id, Room.slug)
        .join(Room, Room.id == link.room_id)
        .where(link.user_id.in_(list(user_ids)))
        .order_by(Room.slug)
    )
    if kind is not None:
        query = query.where(Room.kind == kind)
    found: dict[int, list[str]] = {}
    for user_id, slug in (await session.execute(query)).all():
        found.setdefault(user_id, []).append(slug)
    return found


async def areas_of(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, list[str]]:
    """The area rooms whose team each user belongs to, by slug."""
    return await _rooms_by_user(session, Membership, user_ids, "area")


async def moderates_of(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, list[str]]:
    """The rooms each user moderates, by slug."""
    return await _rooms_by_user(session, RoomModerator, user_ids)


async def area_rooms(session: AsyncSession, slugs: Sequence[str]) -> dict[str, Room]:
    """The area rooms of these slugs that exist."""
    query = select(Room).where(Room.slug.in_(list(slugs)), Room.kind == "area")
    return {room.slug: room for room in (await session.execute(query)).scalars()}


async def set_areas(session: AsyncSession, user_id: int, rooms: Sequence[Room]) -> list[str]:
    """Make the user's area teams exactly `rooms`; the slugs of the teams left."""
    have = {
        room.id: room.slug
        for room in (
            await session.execute(
                select(Room)
                .join(Membership, Membership.room_id == Room.id)
                .where(Membership.user_id == user_id, Room.kind == "area")
            )
        ).scalars()
    }
    wanted = {room.id for room in rooms}
    for room_id in wanted - have.keys():
        session.add(Membership(room_id=room_id, user_id=user_id))
    left = [room_id for room_id in have if room_id not in wanted]
    if left:
        await session.execute(
            delete(Membership).where(Membership.user_id == user_id, Membership.room_id.in_(left))
        )
    await session.flush()
    return sorted(have[room_id] for room_id in left)


# Invitations and one-time tokens: usable while unused and unexpired, and used once.
OneTime = TypeVar("OneTime", Invitation, AccountToken)


def _usable(model: type[OneTime], now: datetime) -> list[Any]:
    return [model.used_at.is_(None), model.expires_at > now]


async def _open(session: AsyncSession, model: type[OneTime], *where: Any) -> OneTime | None:
    query = select(model).where(*where, *_usable(model, utcnow()))
    return (await session.execute(query)).scalar_one_or_none()


async def _take(session: AsyncSession, model: type[OneTime], *where: Any) -> OneTime | None:
    """Mark the usable row used, in the caller's transaction; None if there is none.

    A conditional update: of two requests racing with one token, one changes the row and
    the other finds none.
    """
    now = utcnow()
    taken = (
        await session.execute(
            update(model)
            .where(*where, *_usable(model, now))
            .values(used_at=now)
            .returning(model.id)
        )
    ).scalar_one_or_none()
    return await session.get(model, taken) if taken is not None else None


async def open_invitation(session: AsyncSession, token_hash: str) -> Invitation | None:
    """The unused, unexpired invitation with this token hash."""
    return await _open(session, Invitation, Invitation.token_hash == token_hash)


async def has_open_invitation(session: AsyncSession, user_id: int) -> bool:
    query = select(Invitation.id).where(
        Invitation.user_id == user_id, *_usable(Invitation, utcnow())
    )
    return (await session.execute(query.limit(1))).first() is not None


async def take_invitation(session: AsyncSession, token_hash: str) -> Invitation | None:
    """Use the open invitation with this token hash (once)."""
    return await _take(session, Invitation, Invitation.token_hash == token_hash)


async def add_token(
    session: AsyncSession,
    kind: str,
    token_hash: str,
    expires_at: datetime,
    *,
    user_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Store a one-time token's hash; expired ones of any kind are pruned on the way."""
    now = utcnow()
    await session.execute(delete(AccountToken).where(AccountToken.expires_at < now))
    session.add(
        AccountToken(
            token_hash=token_hash,
            kind=kind,
            user_id=user_id,
            data=data or {},
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def open_token(session: AsyncSession, kind: str, token_hash: str) -> AccountToken | None:
    """The unused, unexpired one-time token of `kind` with this hash."""
    return await _open(
        session, AccountToken, AccountToken.token_hash == token_hash, AccountToken.kind == kind
    )


async def take_token(session: AsyncSession, kind: str, token_hash: str) -> AccountToken | None:
    """Use a one-time token of `kind`: the token, or None if unknown, used or expired."""
    return await _take(
        session, AccountToken, AccountToken.token_hash == token_hash, AccountToken.kind == kind
    )


async def count_recent_tokens(
    session: AsyncSession, kind: str, user_id: int, since: datetime
) -> int:
    query = select(func.count(AccountToken.id)).where(
        AccountToken.kind == kind, AccountToken.user_id == user_id, AccountToken.created_at > since
    )
    return int((await session.execute(query)).scalar_one())

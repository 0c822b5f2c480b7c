"""Users and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import handshake
from persistence.models import Session, User, utcnow
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


async def revoke_user_sessions(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def replace_password_hash(session: AsyncSession, user_id: int, old: str, new: str) -> None:
    """Store an upgraded hash unless the password changed since `old` was read."""
    await session.execute(
        update(User).where(User.id == user_id, User.password_hash == old).values(password_hash=new)
    )

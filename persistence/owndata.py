"""A member's own data (AVG art. 15): the rows about them, read in one transaction.

Rows only; the edge (web/api/accounts.py) encodes them. Never a password hash or a
session token's hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import (
    AuditEntry,
    MemberPreference,
    Message,
    ReadMarker,
    Report,
    Room,
    Session,
    User,
)

# Messages in one export; a member with more gets the newest this many (and is told).
MAX_MESSAGES = 50_000


@dataclass(frozen=True, slots=True)
class OwnData:
    user: User
    preference: MemberPreference | None
    messages: list[tuple[str, Message]]
    messages_complete: bool
    reports: list[tuple[str, Report]]
    read_markers: list[tuple[str, ReadMarker]]
    sessions: list[Session]
    audit: list[AuditEntry]


async def own_data(session: AsyncSession, user: User) -> OwnData:
    """Everything stored about `user` that is theirs to see."""

    async def in_rooms(
        model: Any, mine: Any, order: Any, limit: int | None = None
    ) -> list[tuple[str, Any]]:
        """`model`'s rows that are `mine`, each with its room's slug."""
        query = select(Room.slug, model).join(Room, Room.id == model.room_id).where(mine)
        found = await session.execute(query.order_by(order).limit(limit))
        return [(r[0], r[1]) for r in found]

    messages = await in_rooms(
        Message, Message.author_id == user.id, Message.id.desc(), MAX_MESSAGES + 1
    )
    return OwnData(
        user=user,
        preference=await session.get(MemberPreference, user.id),
        messages=list(reversed(messages[:MAX_MESSAGES])),
        messages_complete=len(messages) <= MAX_MESSAGES,
        reports=await in_rooms(Report, Report.reporter_id == user.id, Report.id),
        read_markers=await in_rooms(ReadMarker, ReadMarker.user_id == user.id, Room.slug),
        sessions=await sessions_of(session, user.id),
        audit=await audit_about(session, user.username),
    )


async def sessions_of(session: AsyncSession, user_id: int) -> list[Session]:
    """The user's sessions, oldest first (both exports of their data)."""
    query = select(Session).where(Session.user_id == user_id).order_by(Session.id)
    return list((await session.execute(query)).scalars())


async def audit_about(session: AsyncSession, username: str) -> list[AuditEntry]:
    """The audit entries naming the user as actor or target, oldest first (both exports)."""
    named = or_(AuditEntry.actor == username, AuditEntry.target == username)
    query = select(AuditEntry).where(named).order_by(AuditEntry.id)
    return list((await session.execute(query)).scalars())

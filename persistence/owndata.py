"""A member's own data (AVG art. 15): the rows about them, read in one transaction.

Rows only; the edge (web/api/accounts.py) encodes them. Never a password hash or a
session token's hash.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    slugs = await all_room_slugs(session)
    newest = await messages_by(session, user.id, limit=MAX_MESSAGES + 1, newest_first=True)
    markers = select(Room.slug, ReadMarker).join(Room, Room.id == ReadMarker.room_id)
    found = await session.execute(markers.where(ReadMarker.user_id == user.id).order_by(Room.slug))
    return OwnData(
        user=user,
        preference=await session.get(MemberPreference, user.id),
        messages=[(slugs[m.room_id], m) for m in reversed(newest[:MAX_MESSAGES])],
        messages_complete=len(newest) <= MAX_MESSAGES,
        reports=[(slugs[r.room_id], r) for r in await reports_by(session, user.id)],
        read_markers=[(r[0], r[1]) for r in found],
        sessions=await sessions_of(session, user.id),
        audit=await audit_about(session, user.username),
    )


async def all_room_slugs(session: AsyncSession) -> dict[int, str]:
    """Every room's slug by its id: both exports name a row's room by its slug."""
    return {id_: slug for id_, slug in await session.execute(select(Room.id, Room.slug))}


async def messages_by(
    session: AsyncSession, user_id: int, *, limit: int, after: int = 0, newest_first: bool = False
) -> list[Message]:
    """Up to `limit` of the user's messages with ids above `after`, oldest first, or with
    `newest_first` the newest (both exports: the CLI's pages on, the download cuts off)."""
    order = Message.id.desc() if newest_first else Message.id
    query = select(Message).where(Message.author_id == user_id, Message.id > after)
    return list((await session.execute(query.order_by(order).limit(limit))).scalars())


async def reports_by(session: AsyncSession, user_id: int) -> list[Report]:
    """The reports the user filed, oldest first (both exports of their data)."""
    query = select(Report).where(Report.reporter_id == user_id).order_by(Report.id)
    return list((await session.execute(query)).scalars())


async def sessions_of(session: AsyncSession, user_id: int) -> list[Session]:
    """The user's sessions, oldest first (both exports of their data)."""
    query = select(Session).where(Session.user_id == user_id).order_by(Session.id)
    return list((await session.execute(query)).scalars())


async def audit_about(session: AsyncSession, username: str) -> list[AuditEntry]:
    """The audit entries naming the user as actor or target, oldest first (both exports)."""
    named = or_(AuditEntry.actor == username, AuditEntry.target == username)
    query = select(AuditEntry).where(named).order_by(AuditEntry.id)
    return list((await session.execute(query)).scalars())

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

    async def rows(query: Any) -> list[Any]:
        return list((await session.execute(query)).all())

    messages = await rows(
        select(Room.slug, Message)
        .join(Room, Room.id == Message.room_id)
        .where(Message.author_id == user.id)
        .order_by(Message.id.desc())
        .limit(MAX_MESSAGES + 1)
    )
    return OwnData(
        user=user,
        preference=await session.get(MemberPreference, user.id),
        messages=[(r[0], r[1]) for r in reversed(messages[:MAX_MESSAGES])],
        messages_complete=len(messages) <= MAX_MESSAGES,
        reports=[
            (r[0], r[1])
            for r in await rows(
                select(Room.slug, Report)
                .join(Room, Room.id == Report.room_id)
                .where(Report.reporter_id == user.id)
                .order_by(Report.id)
            )
        ],
        read_markers=[
            (r[0], r[1])
            for r in await rows(
                select(Room.slug, ReadMarker)
                .join(Room, Room.id == ReadMarker.room_id)
                .where(ReadMarker.user_id == user.id)
                .order_by(Room.slug)
            )
        ],
        sessions=list(
            (
                await session.execute(
                    select(Session).where(Session.user_id == user.id).order_by(Session.id)
                )
            ).scalars()
        ),
        audit=list(
            (
                await session.execute(
                    select(AuditEntry)
                    .where(
                        or_(AuditEntry.actor == user.username, AuditEntry.target == user.username)
                    )
                    .order_by(AuditEntry.id)
                )
            ).scalars()
        ),
    )

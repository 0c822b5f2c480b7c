"""Notification storage: room levels, push subscriptions, the VAPID key, mails waiting.

Repositories take a session and never commit. `recipients` is the one place that decides,
at send time, who of a notice's users is told: an account that is active, may still read
the room, and whose level for it lets the kind through.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts
from persistence.models import (
    NotificationLevel,
    NotificationMail,
    NotificationMailOff,
    PushSubscription,
    ReadMarker,
    Room,
    User,
    VapidKey,
    utcnow,
)
from persistence.rooms import ban_of, room_ref
from rooms.access import may_read
from rooms.notify import DEFAULT_LEVEL, Kind, Level, hears

# A member's browsers and devices; the oldest subscription makes way for a new one.
MAX_SUBSCRIPTIONS_PER_USER = 10


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one browser gets its pushes, and the keys that encrypt them (RFC 8291)."""

    user_id: int
    endpoint: str
    p256dh: str
    auth: str


# -- levels ---------------------------------------------------------------------------


async def set_level(session: AsyncSession, user_id: int, room_id: int, level: Level) -> None:
    row = await session.get(NotificationLevel, (user_id, room_id))
    if row is None:
        session.add(NotificationLevel(user_id=user_id, room_id=room_id, level=level))
    else:
        row.level = level
        row.updated_at = utcnow()


async def levels_of(session: AsyncSession, user_id: int) -> dict[str, Level]:
    """Room slug → level, for the rooms where the user chose one."""
    rows = await session.execute(
        select(Room.slug, NotificationLevel.level)
        .join(Room, Room.id == NotificationLevel.room_id)
        .where(NotificationLevel.user_id == user_id)
    )
    return {slug: _level(level) for slug, level in rows}


async def listening_to_all(session: AsyncSession, room_id: int) -> list[int]:
    """Users who set the room to `all`."""
    rows = await session.execute(
        select(NotificationLevel.user_id).where(
            NotificationLevel.room_id == room_id, NotificationLevel.level == "all"
        )
    )
    return list(rows.scalars())


async def rooms_with_all(session: AsyncSession) -> set[str]:
    """Slugs of the rooms that someone set to `all`."""
    rows = await session.execute(
        select(Room.slug)
        .join(NotificationLevel, NotificationLevel.room_id == Room.id)
        .where(NotificationLevel.level == "all")
        .distinct()
    )
    return set(rows.scalars())


def _level(raw: str | None) -> Level:
    return raw if raw in ("all", "mentions", "none") else DEFAULT_LEVEL  # type: ignore[return-value]


async def recipients(
    session: AsyncSession, user_ids: Collection[int], room: Room | None, kind: Kind
) -> list[User]:
    """Those of `user_ids` to tell now: active, still readers of `room`, level allowing `kind`."""
    if not user_ids:
        return []
    users = (await session.execute(select(User).where(User.id.in_(list(user_ids))))).scalars()
    levels: dict[int, str] = {}
    if room is not None:
        rows = await session.execute(
            select(NotificationLevel.user_id, NotificationLevel.level).where(
                NotificationLevel.room_id == room.id,
                NotificationLevel.user_id.in_(list(user_ids)),
            )
        )
        levels = {uid: level for uid, level in rows}
    now = utcnow()
    told: list[User] = []
    for user in users:
        if user.pseudonymised or user.disabled_at is not None:
            continue
        if room is not None:
            if not hears(_level(levels.get(user.id)), kind):
                continue
            actor = await accounts.actor_for(session, user)
            if not may_read(actor, room_ref(room), await ban_of(session, room.id, user.id), now):
                continue
        told.append(user)
    return told


# -- push subscriptions -----------------------------------------------------------------


async def subscribe(
    session: AsyncSession, user_id: int, endpoint: str, p256dh: str, auth: str
) -> None:
    """Keep a subscription for the user (taking it over from whoever had this endpoint)."""
    row = (
        await session.execute(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    ).scalar_one_or_none()
    if row is None:
        session.add(PushSubscription(user_id=user_id, endpoint=endpoint, p256dh=p256dh, auth=auth))
    else:
        row.user_id, row.p256dh, row.auth, row.created_at = user_id, p256dh, auth, utcnow()
    await session.flush()
    ids = (
        (
            await session.execute(
                select(PushSubscription.id)
                .where(PushSubscription.user_id == user_id)
                .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
                .offset(MAX_SUBSCRIPTIONS_PER_USER)
            )
        )
        .scalars()
        .all()
    )
    if ids:
        await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids)))


async def unsubscribe(session: AsyncSession, user_id: int, endpoint: str) -> None:
    await session.execute(
        delete(PushSubscription).where(
            PushSubscription.user_id == user_id, PushSubscription.endpoint == endpoint
        )
    )


async def endpoints_of(session: AsyncSession, user_ids: Collection[int]) -> list[Endpoint]:
    if not user_ids:
        return []
    rows = await session.execute(
        select(PushSubscription).where(PushSubscription.user_id.in_(list(user_ids)))
    )
    return [Endpoint(s.user_id, s.endpoint, s.p256dh, s.auth) for s in rows.scalars()]


async def drop_endpoints(session: AsyncSession, endpoints: Collection[str]) -> None:
    """Forget subscriptions the push service says are gone (404, 410)."""
    if endpoints:
        await session.execute(
            delete(PushSubscription).where(PushSubscription.endpoint.in_(list(endpoints)))
        )


# -- the VAPID key ----------------------------------------------------------------------


async def vapid_key(session: AsyncSession) -> str | None:
    row = await session.get(VapidKey, 1)
    return row.private_key if row is not None else None


def add_vapid_key(session: AsyncSession, private_key: str) -> None:
    """Insert the one key; a process that loses the race gets an IntegrityError and reads."""
    session.add(VapidKey(id=1, private_key=private_key))


# -- mails waiting ----------------------------------------------------------------------


async def queue_mail(
    session: AsyncSession,
    user_ids: Sequence[int],
    room_id: int,
    message_id: int,
    kind: Kind,
    due_at: datetime,
) -> None:
    """Note what to e-mail if still unseen at `due_at` (once per user, message and kind)."""
    if not user_ids:
        return
    had = set(
        (
            await session.execute(
                select(NotificationMail.user_id).where(
                    NotificationMail.message_id == message_id,
                    NotificationMail.kind == kind,
                    NotificationMail.user_id.in_(list(user_ids)),
                )
            )
        ).scalars()
    )
    for uid in user_ids:
        if uid not in had:
            session.add(
                NotificationMail(
                    user_id=uid, room_id=room_id, message_id=message_id, kind=kind, due_at=due_at
                )
            )


async def users_due(session: AsyncSession, now: datetime, stale: datetime, limit: int) -> list[int]:
    """Users with mail due and not taken (or taken by a process that died before `stale`)."""
    rows = await session.execute(
        select(NotificationMail.user_id)
        .where(
            NotificationMail.sent_at.is_(None),
            NotificationMail.due_at <= now,
            (NotificationMail.claim.is_(None)) | (NotificationMail.claimed_at < stale),
        )
        .distinct()
        .limit(limit)
    )
    return list(rows.scalars())


async def claim(
    session: AsyncSession, user_id: int, token: str, now: datetime, stale: datetime
) -> list[NotificationMail]:
    """Take all the user's waiting rows for this process (one of them is due): the UPDATE
    lets one process win each row. Those not yet due ride along, so mentions a few seconds
    apart make one e-mail, not one each as they fall due."""
    await session.execute(
        update(NotificationMail)
        .where(
            NotificationMail.user_id == user_id,
            NotificationMail.sent_at.is_(None),
            (NotificationMail.claim.is_(None)) | (NotificationMail.claimed_at < stale),
        )
        .values(claim=token, claimed_at=now)
    )
    rows = await session.execute(select(NotificationMail).where(NotificationMail.claim == token))
    return list(rows.scalars())


async def settle(session: AsyncSession, token: str, sent: bool) -> None:
    """After the attempt: done (sent or nothing to send), or released for a later try."""
    values = {"sent_at": utcnow()} if sent else {"claim": None, "claimed_at": None}
    await session.execute(
        update(NotificationMail).where(NotificationMail.claim == token).values(**values)
    )


async def read_seq(session: AsyncSession, user_id: int, room_id: int) -> int:
    marker = await session.get(ReadMarker, (user_id, room_id))
    return marker.seq if marker is not None else 0


async def mail_off(session: AsyncSession, user_id: int) -> bool:
    return await session.get(NotificationMailOff, user_id) is not None


async def turn_mail_off(session: AsyncSession, user_id: int) -> None:
    if await session.get(NotificationMailOff, user_id) is None:
        session.add(NotificationMailOff(user_id=user_id))


async def turn_mail_on(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(NotificationMailOff).where(NotificationMailOff.user_id == user_id))

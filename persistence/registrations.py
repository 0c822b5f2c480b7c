"""Registrations for meetings, attendance, and the secret calendar feeds.

Writers take the meeting's row lock first (`lock_meeting`): on PostgreSQL it serialises
every change to one meeting's registrations, so the count of `going` read before a write
is still true at commit; SQLite's BEGIN IMMEDIATE serialises all writers already.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import CalendarFeed, Meeting, Registration, User
from rooms.model import Layer
from rooms.registration import Status

# Who counts as registered: told of changes, listed in the calendar feed.
REGISTERED = (Status.GOING.value, Status.MAYBE.value, Status.WAITLIST.value)


async def lock_meeting(session: AsyncSession, slug: str) -> Meeting | None:
    """The meeting with its row lock held until the transaction ends."""
    query = select(Meeting).where(Meeting.slug == slug).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def registration_of(
    session: AsyncSession, meeting_id: int, user_id: int
) -> Registration | None:
    query = select(Registration).where(
        Registration.meeting_id == meeting_id, Registration.user_id == user_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def going_count(session: AsyncSession, meeting_id: int, but: int | None = None) -> int:
    """Places taken; `but` a user whose own place is not counted."""
    query = select(func.count()).where(
        Registration.meeting_id == meeting_id, Registration.status == Status.GOING.value
    )
    if but is not None:
        query = query.where(Registration.user_id != but)
    return int((await session.execute(query)).scalar_one())


async def waitlist(session: AsyncSession, meeting_id: int) -> list[Registration]:
    """The waitlist in order: who asked first moves up first."""
    query = (
        select(Registration)
        .where(Registration.meeting_id == meeting_id, Registration.status == Status.WAITLIST.value)
        .order_by(Registration.registered_at, Registration.id)
    )
    return list((await session.execute(query)).scalars())


async def position(session: AsyncSession, reg: Registration) -> int | None:
    """1 for the next to move up; None when not waiting."""
    if reg.status != Status.WAITLIST.value:
        return None
    ahead = await session.execute(
        select(func.count()).where(
            Registration.meeting_id == reg.meeting_id,
            Registration.status == Status.WAITLIST.value,
            (Registration.registered_at < reg.registered_at)
            | ((Registration.registered_at == reg.registered_at) & (Registration.id < reg.id)),
        )
    )
    return int(ahead.scalar_one()) + 1


async def set_status(
    session: AsyncSession,
    meeting_id: int,
    user_id: int,
    status: Status,
    now: datetime,
    current: Registration | None,
) -> Registration:
    """Store a registration's status; a change of status takes a new place in time."""
    if current is None:
        current = Registration(meeting_id=meeting_id, user_id=user_id, status=status.value)
        current.registered_at = now
        session.add(current)
    elif current.status != status.value:
        current.status = status.value
        current.registered_at = now
    await session.flush()
    return current


async def promote(session: AsyncSession, meeting_id: int, count: int) -> list[Registration]:
    """Move the first `count` of the waitlist to `going`; returns them."""
    moved = (await waitlist(session, meeting_id))[:count]
    for reg in moved:
        reg.status = Status.GOING.value
    await session.flush()
    return moved


@dataclass(frozen=True, slots=True)
class Counts:
    going: int
    maybe: int
    waitlist: int
    by_layer: dict[str, int]


def _empty_layers() -> dict[str, int]:
    return {layer.value: 0 for layer in Layer}


async def counts(session: AsyncSession, meeting_ids: Collection[int]) -> dict[int, Counts]:
    """Per meeting: how many going, maybe and waiting; `going` per layer of government."""
    tally: dict[int, dict[str, int]] = {m: {} for m in meeting_ids}
    layers: dict[int, dict[str, int]] = {m: _empty_layers() for m in meeting_ids}
    if meeting_ids:
        rows = await session.execute(
            select(Registration.meeting_id, Registration.status, User.layer, func.count())
            .join(User, User.id == Registration.user_id)
            .where(Registration.meeting_id.in_(list(meeting_ids)))
            .group_by(Registration.meeting_id, Registration.status, User.layer)
        )
        for meeting_id, status, layer, n in rows:
            per = tally[meeting_id]
            per[status] = per.get(status, 0) + n
            if status == Status.GOING.value:
                key = layer if layer in layers[meeting_id] else Layer.OVERIG.value
                layers[meeting_id][key] += n
    return {
        m: Counts(
            t.get(Status.GOING.value, 0),
            t.get(Status.MAYBE.value, 0),
            t.get(Status.WAITLIST.value, 0),
            layers[m],
        )
        for m, t in tally.items()
    }


async def mine(
    session: AsyncSession, meeting_ids: Collection[int], user_id: int
) -> dict[int, Registration]:
    """The user's registrations for these meetings."""
    if not meeting_ids:
        return {}
    rows = await session.execute(
        select(Registration).where(
            Registration.meeting_id.in_(list(meeting_ids)), Registration.user_id == user_id
        )
    )
    return {r.meeting_id: r for r in rows.scalars()}


async def going_people(session: AsyncSession, meeting_id: int) -> list[User]:
    """Who is going, by name: every participant may see this."""
    rows = await session.execute(
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.meeting_id == meeting_id, Registration.status == Status.GOING.value)
        .order_by(User.display_name, User.username)
    )
    return list(rows.scalars())


# The presence list's order: going first, then waiting (in order), maybe, not going.
_STATUS_ORDER = {s: i for i, s in enumerate(("going", "waitlist", "maybe", "not_going"))}


async def registrations(session: AsyncSession, meeting_id: int) -> list[tuple[Registration, User]]:
    """Every registration with its user, in presence-list order."""
    rows = await session.execute(
        select(Registration, User)
        .join(User, User.id == Registration.user_id)
        .where(Registration.meeting_id == meeting_id)
        .order_by(Registration.registered_at, Registration.id)
    )
    found = [(reg, user) for reg, user in rows.all()]
    return sorted(found, key=lambda pair: _STATUS_ORDER.get(pair[0].status, 9))


async def registered_user_ids(session: AsyncSession, meeting_id: int) -> list[int]:
    """Everyone registered going, maybe or waiting: told when the meeting changes."""
    rows = await session.execute(
        select(Registration.user_id).where(
            Registration.meeting_id == meeting_id, Registration.status.in_(REGISTERED)
        )
    )
    return [int(u) for u in rows.scalars()]


async def set_attendance(session: AsyncSession, meeting_id: int, present: Sequence[int]) -> None:
    """`attended` true for those named; false for the others registered `going`."""
    await session.execute(
        update(Registration)
        .where(Registration.meeting_id == meeting_id, Registration.status == Status.GOING.value)
        .values(attended=False)
    )
    if present:
        await session.execute(
            update(Registration)
            .where(Registration.meeting_id == meeting_id, Registration.user_id.in_(list(present)))
            .values(attended=True)
        )


# Calendar feeds.


async def set_feed(session: AsyncSession, user_id: int, secret_hash: str, now: datetime) -> None:
    """Replace the user's feed address (the old one stops working)."""
    await drop_feed(session, user_id)
    session.add(CalendarFeed(user_id=user_id, secret_hash=secret_hash, created_at=now))
    await session.flush()


async def drop_feed(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    return bool(getattr(result, "rowcount", 0))


async def feed_owner(session: AsyncSession, secret_hash: str) -> User | None:
    """The enabled user whose feed this is."""
    row = await session.execute(
        select(User)
        .join(CalendarFeed, CalendarFeed.user_id == User.id)
        .where(CalendarFeed.secret_hash == secret_hash, User.disabled_at.is_(None))
    )
    return row.scalar_one_or_none()


async def feed_meetings(session: AsyncSession, user_id: int) -> list[Meeting]:
    """The meetings the user registered for as going, maybe or waitlist."""
    rows = await session.execute(
        select(Meeting)
        .join(Registration, Registration.meeting_id == Meeting.id)
        .where(Registration.user_id == user_id, Registration.status.in_(REGISTERED))
        .order_by(Meeting.starts_at)
    )
    return list(rows.scalars())

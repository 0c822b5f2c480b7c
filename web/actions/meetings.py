"""Meeting acts: a meeting and its room (admins), changes and cancellation, registration,
attendance, and the secret calendar feed.

Registration and changes take the meeting's row lock (`persistence.registrations`), so a
place that frees up goes to exactly one person on the waitlist, whatever runs at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from msgspec import UNSET
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chat.frames import MeetingUpdated
from persistence import moderation as repo
from persistence import registrations
from persistence.db import Database
from persistence.events import append_event, iso, stored_event
from persistence.handshake import MeetingsRead
from persistence.meetings import meeting_by_slug, theme_rooms, theme_slugs, views
from persistence.models import Meeting, Registration, Room, utcnow
from persistence.rooms import room_ref
from rooms import moderation as rules
from rooms import text
from rooms.access import may_moderate
from rooms.dutchtime import format_dutch, parse_dutch
from rooms.errors import BadRequest, Conflict, Forbidden, NotFound
from rooms.model import SLUG_RE, Actor
from rooms.registration import (
    Answer,
    MeetingStatus,
    Status,
    Window,
    check_capacity,
    check_closes,
    check_ends,
    check_open,
    may_record_attendance,
    places_free,
    status_for,
)
from web.actions.common import Acting, find_room, find_user
from web.actions.notify import MeetingNotice
from web.actions.publish import NOTHING, Published
from web.wire.meetings import MeetingPatch, counts_wire, full_meeting_wire


@dataclass(frozen=True, slots=True)
class NewMeeting:
    """A meeting as asked for; its texts cleaned, its start parsed."""

    slug: str
    title: str
    theme: str
    starts_at: datetime
    place: str
    programme: str = ""
    capacity: int | None = None
    closes_at: datetime | None = None
    ends_at: datetime | None = None


async def create_meeting(
    db: Database, acting: Acting, new: NewMeeting, reason: str = ""
) -> tuple[Meeting, Room]:
    """Create the meeting and its room; the slug must be free among rooms and meetings."""
    acting.check_admin()
    check_capacity(new.capacity)
    check_closes(new.closes_at, new.starts_at)
    check_ends(new.ends_at, new.starts_at)
    taken = Conflict(f"the slug {new.slug!r} is already used by a room")
    try:
        async with db.write() as session:
            theme = await repo.theme_by_slug(session, new.theme)
            if theme is None:
                raise BadRequest(f"field 'theme': no theme {new.theme!r}")
            for model in (Room, Meeting):
                if (await session.execute(select(model.id).where(model.slug == new.slug))).first():
                    raise taken
            meeting, room = await repo.create_meeting(
                session,
                slug=new.slug,
                title=new.title,
                theme=theme,
                starts_at=new.starts_at,
                place=new.place,
                programme=new.programme,
            )
            meeting.capacity, meeting.ends_at = new.capacity, new.ends_at
            meeting.registration_closes_at = new.closes_at
            await repo.record(
                session,
                acting.source,
                "create_meeting",
                room=new.slug,
                reason=reason,
                details={"theme": theme.slug, "date": iso(new.starts_at)},
            )
    except IntegrityError:
        # Another admin took the slug between the check above and the insert.
        raise taken from None
    return meeting, room


# Changes and cancellation.

# The meeting fields an admin may change, as the Meeting model names them.
CHANGEABLE = (
    "title",
    "starts_at",
    "ends_at",
    "place",
    "programme",
    "capacity",
    "registration_closes_at",
    "status",
)


async def change_meeting(
    db: Database, acting: Acting, slug: str, changes: dict[str, Any], reason: str = ""
) -> Published:
    """Apply an admin's changes; the room hears `meeting_changed`, the registered a notice.

    Nothing changed, nothing happens: no event, no new SEQUENCE. A larger capacity moves
    people up from the waitlist at once.
    """
    acting.check_admin()
    assert set(changes) <= set(CHANGEABLE), changes
    async with db.write() as session:
        meeting = await _locked(session, slug)
        diff = {k: v for k, v in changes.items() if getattr(meeting, k) != v}
        starts = diff.get("starts_at", meeting.starts_at)
        check_capacity(diff.get("capacity", meeting.capacity))
        check_closes(diff.get("registration_closes_at", meeting.registration_closes_at), starts)
        check_ends(diff.get("ends_at", meeting.ends_at), starts)
        if not diff:
            return NOTHING
        for key, value in diff.items():
            setattr(meeting, key, value)
        meeting.sequence += 1
        room = await find_room(session, meeting.slug)
        room.name = meeting.title
        moved = await _move_up(session, meeting)
        await repo.record(
            session,
            acting.source,
            "change_meeting",
            room=meeting.slug,
            reason=reason,
            details={k: _plain(v) for k, v in diff.items()},
        )
        wire = await meeting_body(session, meeting, None)
        by = acting.source.actor
        ev = await append_event(
            session,
            room.id,
            "meeting_changed",
            actor_id=acting.actor.user_id if acting.actor is not None else None,
            data={"meeting": wire, "by": by},
        )
        told = await registrations.registered_user_ids(session, meeting.id)
    db.part(MeetingsRead).forget()
    cancelled = diff.get("status") == MeetingStatus.CANCELLED.value
    news = MeetingNotice(
        tuple(u for u in told if u not in {r.user_id for r in moved}),
        "meeting_cancelled" if cancelled else "meeting_changed",
        meeting.slug,
        meeting.title,
        _change_text(meeting, cancelled),
    )
    return Published(
        events=((meeting.slug, stored_event(ev)),),
        notices=(news, *_moved_notices(meeting, moved)),
        updated=(MeetingUpdated(meeting=meeting.slug, counts=wire["counts"]),),
    )


def _plain(value: object) -> object:
    return iso(value) if isinstance(value, datetime) else value


def _change_text(meeting: Meeting, cancelled: bool) -> str:
    when = format_dutch(meeting.starts_at)
    if cancelled:
        return f"De bijeenkomst '{meeting.title}' van {when} gaat niet door."
    return f"De bijeenkomst '{meeting.title}' is gewijzigd: {when}, {meeting.place}."


def _moved_notices(meeting: Meeting, moved: list[Registration]) -> tuple[MeetingNotice, ...]:
    if not moved:
        return ()
    body = f"Er is plek vrijgekomen: je staat nu ingeschreven voor '{meeting.title}'."
    return (
        MeetingNotice(
            tuple(r.user_id for r in moved), "moved_up", meeting.slug, meeting.title, body
        ),
    )


async def _locked(session: AsyncSession, slug: str) -> Meeting:
    meeting = await registrations.lock_meeting(session, slug) if SLUG_RE.fullmatch(slug) else None
    if meeting is None:
        raise NotFound(f"no meeting {slug!r}")
    return meeting


async def _move_up(session: AsyncSession, meeting: Meeting) -> list[Registration]:
    """Fill free places from the waitlist (the meeting's row lock is held)."""
    if meeting.status == MeetingStatus.CANCELLED.value:
        return []
    waiting = await registrations.waitlist(session, meeting.id)
    if not waiting:
        return []
    going = await registrations.going_count(session, meeting.id)
    free = places_free(going, meeting.capacity, len(waiting))
    return await registrations.promote(session, meeting.id, free) if free else []


# Registration.


@dataclass(frozen=True, slots=True)
class Registered:
    status: str
    position: int | None


async def register(
    db: Database, actor: Actor, slug: str, answer: Answer, now: datetime
) -> tuple[Registered, Published]:
    """The member's answer; `going` beyond the capacity waits; a freed place moves the
    first waiting up at once (and tells them)."""
    async with db.write() as session:
        meeting = await _locked(session, slug)
        check_open(
            Window(
                meeting.starts_at,
                meeting.registration_closes_at,
                meeting.status == MeetingStatus.CANCELLED.value,
            ),
            now,
        )
        current = await registrations.registration_of(session, meeting.id, actor.user_id)
        others = await registrations.going_count(session, meeting.id, but=actor.user_id)
        was = Status(current.status) if current is not None else None
        status = status_for(answer, was, others, meeting.capacity)
        # Stamped under the lock, so the waitlist's order is the order of the locks taken.
        reg = await registrations.set_status(
            session, meeting.id, actor.user_id, status, utcnow(), current
        )
        moved = await _move_up(session, meeting) if was is Status.GOING else []
        place = await registrations.position(session, reg)
        counts = counts_wire((await registrations.counts(session, [meeting.id]))[meeting.id])
    # Open meeting pages follow the counts live (`meeting_updated`), without polling.
    updated = (MeetingUpdated(meeting=meeting.slug, counts=counts),)
    return Registered(status.value, place), Published(
        notices=_moved_notices(meeting, moved), updated=updated
    )


# Presence list and attendance.


def may_see_presence(actor: Actor, room: Room) -> bool:
    """Staff, and the moderators of the meeting's room."""
    return actor.is_staff or may_moderate(actor, room_ref(room))


async def presence_room(session: AsyncSession, actor: Actor, slug: str) -> tuple[Meeting, Room]:
    """The meeting and its room, for one who may see its presence list (403 otherwise)."""
    meeting = await meeting_by_slug(session, slug) if SLUG_RE.fullmatch(slug) else None
    if meeting is None:
        raise NotFound(f"no meeting {slug!r}")
    room = await find_room(session, meeting.slug, lock=False)
    if not may_see_presence(actor, room):
        raise Forbidden("only moderators and admins see who registered")
    return meeting, room


async def record_attendance(
    db: Database, acting: Acting, slug: str, present: list[str], now: datetime
) -> None:
    """Who came: true for those named, false for the others registered `going`."""
    assert acting.actor is not None
    async with db.write() as session:
        meeting, _room = await presence_room(session, acting.actor, slug)
        may_record_attendance(meeting.starts_at, now)
        ids = []
        for username in present:
            user = await find_user(session, username)
            if await registrations.registration_of(session, meeting.id, user.id) is None:
                raise BadRequest(f"field 'present': {username!r} did not register")
            ids.append(user.id)
        await registrations.set_attendance(session, meeting.id, ids)
        await repo.record(
            session,
            acting.source,
            "record_attendance",
            room=meeting.slug,
            details={"present": len(ids)},
        )


# The secret calendar feed.


# What `secrets.token_urlsafe(32)` makes: anything else is no feed, without a query.
FEED_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{43}")


def feed_hash(secret: str) -> str:
    """Only this is stored: a leaked table yields no feed address."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def new_feed(db: Database, actor: Actor, now: datetime) -> str:
    """A new secret for the member's calendar feed; the old address stops working."""
    secret = secrets.token_urlsafe(32)
    async with db.write() as session:
        await registrations.set_feed(session, actor.user_id, feed_hash(secret), now)
    return secret


async def end_feed(db: Database, actor: Actor) -> None:
    async with db.write() as session:
        await registrations.drop_feed(session, actor.user_id)


async def meeting_bodies(
    session: AsyncSession, meetings: list[Meeting], user_id: int | None
) -> list[dict[str, Any]]:
    """The meetings as the meetings API shows them to a caller (None: no registration)."""
    themes, t_rooms = await theme_slugs(session), await theme_rooms(session)
    return [full_meeting_wire(v, themes, t_rooms) for v in await views(session, meetings, user_id)]


async def meeting_body(
    session: AsyncSession, meeting: Meeting, user_id: int | None
) -> dict[str, Any]:
    return (await meeting_bodies(session, [meeting], user_id))[0]


def text_field(name: str, raw: str) -> str:
    """A required text: cleaned, trimmed, not empty."""
    value = text.clean(raw).strip()
    if not value:
        raise BadRequest(f"field {name!r} must not be empty")
    return value


def moment(raw: str | None, name: str) -> datetime | None:
    """A time a person typed (Dutch time without a zone), or None."""
    return None if raw is None else parse_dutch(raw, name)


def meeting_changes(given: MeetingPatch) -> dict[str, Any]:
    """The fields given, as the Meeting model names them, parsed and cleaned: for the
    API's PATCH and the meeting CLI alike."""
    found: dict[str, Any] = {}
    if given.title is not UNSET:
        found["title"] = text_field("title", given.title)
    if given.place is not UNSET:
        found["place"] = text_field("place", given.place)
    if given.programme is not UNSET:
        found["programme"] = text.clean(given.programme).strip()
    if given.date is not UNSET:
        found["starts_at"] = rules.parse_meeting_start(given.date)
    if given.ends_at is not UNSET:
        found["ends_at"] = moment(given.ends_at, "ends_at")
    if given.registration_closes_at is not UNSET:
        closes = given.registration_closes_at
        found["registration_closes_at"] = moment(closes, "registration_closes_at")
    if given.capacity is not UNSET:
        found["capacity"] = given.capacity
    if given.status is not UNSET:
        found["status"] = given.status
    return found

"""Meeting rooms: one per Werkplaats meeting (theme, date, place), created by admins."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence import moderation as repo
from persistence.models import Meeting, Room
from rooms import moderation as rules
from rooms import text
from rooms.access import check_admin
from rooms.errors import BadRequest, Conflict
from rooms.model import SLUG_RE
from web.api.moderation import optional_reason, room_wire, source
from web.deps import caller, services
from web.openapi import api
from web.responses import JSON, body_as
from web.wire.meetings import MeetingCreated, MeetingIn, Meetings


def text_field(name: str, raw: str) -> str:
    """A required text: cleaned, trimmed, not empty."""
    value = text.clean(raw).strip()
    if not value:
        raise BadRequest(f"field {name!r} must not be empty")
    return value


async def create_meeting(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    check_admin(who.actor)
    given = await body_as(request, MeetingIn)
    slug, theme_slug = given.slug, given.theme
    if not SLUG_RE.fullmatch(slug):
        raise BadRequest("field 'slug' must be 1 to 64 of a-z, 0-9 and '-'")
    title, place = text_field("title", given.title), text_field("place", given.place)
    starts_at = rules.parse_meeting_start(given.date)
    programme = text.clean(given.programme or "").strip()
    reason = optional_reason(given.reason)
    taken = Conflict(f"the slug {slug!r} is already used by a room")
    try:
        async with svc.db.write() as session:
            theme = await repo.theme_by_slug(session, theme_slug)
            if theme is None:
                raise BadRequest(f"field 'theme': no theme {theme_slug!r}")
            rooms = await session.execute(select(Room.id).where(Room.slug == slug))
            meetings = await session.execute(select(Meeting.id).where(Meeting.slug == slug))
            if rooms.first() is not None or meetings.first() is not None:
                raise taken
            meeting, room = await repo.create_meeting(
                session,
                slug=slug,
                title=title,
                theme=theme,
                starts_at=starts_at,
                place=place,
                programme=programme,
            )
            await repo.record(
                session,
                source(request, who),
                "create_meeting",
                room=slug,
                reason=reason,
                details={"theme": theme.slug, "date": repo.meeting_wire(meeting, None)["date"]},
            )
            wire = {"meeting": repo.meeting_wire(meeting, theme.slug), "room": room_wire(room)}
    except IntegrityError:
        # Another admin took the slug between the check above and the insert.
        raise taken from None
    return JSON(wire, status_code=201)


async def list_meetings(request: Request) -> Response:
    svc = services(request)
    await caller(request)
    async with svc.db.read() as session:
        meetings = await repo.meetings_list(session)
    return JSON({"meetings": meetings})


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api("/api/meetings", "POST", create_meeting,
            "create a meeting and its room (admins only)", "meetings",
            out=MeetingCreated, status=201, body=MeetingIn, errors=(403, 409)),
        api("/api/meetings", "GET", list_meetings, "the Werkplaats meetings", "meetings",
            out=Meetings),
    ]
    # fmt: on

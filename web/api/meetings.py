"""Meeting rooms: one per Werkplaats meeting (theme, date, place), created by admins."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence import moderation as repo
from rooms import moderation as rules
from rooms import text
from rooms.errors import BadRequest
from rooms.model import SLUG_RE
from web.actions import meetings as acts
from web.actions.common import Acting
from web.deps import caller, client_address, services
from web.openapi import api
from web.responses import JSON, body_as
from web.wire.meetings import MeetingCreated, MeetingIn, Meetings
from web.wire.rooms import room_wire


def text_field(name: str, raw: str) -> str:
    """A required text: cleaned, trimmed, not empty."""
    value = text.clean(raw).strip()
    if not value:
        raise BadRequest(f"field {name!r} must not be empty")
    return value


async def create_meeting(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, MeetingIn)
    slug, theme_slug = given.slug, given.theme
    if not SLUG_RE.fullmatch(slug):
        raise BadRequest("field 'slug' must be 1 to 64 of a-z, 0-9 and '-'")
    title, place = text_field("title", given.title), text_field("place", given.place)
    starts_at = rules.parse_meeting_start(given.date)
    programme = text.clean(given.programme or "").strip()
    reason = rules.optional_reason(given.reason)
    new = acts.NewMeeting(slug, title, theme_slug, starts_at, place, programme)
    who_acts = Acting.member(who.actor, client_address(request))
    meeting, room = await acts.create_meeting(svc.db, who_acts, new, reason)
    wire = {"meeting": repo.meeting_wire(meeting, theme_slug), "room": room_wire(room)}
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

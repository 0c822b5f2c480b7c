"""Meeting rooms: one per Werkplaats meeting (theme, date, place), created by admins."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from persistence import moderation as repo
from rooms import moderation as rules
from rooms import text
from rooms.errors import BadRequest
from rooms.model import SLUG_RE
from web.actions import meetings as acts
from web.actions.common import Acting
from web.api.moderation import only_fields, reason_field
from web.api.wire import room_wire
from web.deps import caller, client_address, services
from web.responses import JSON, json_body, str_field

MEETING_FIELDS = frozenset({"slug", "title", "theme", "date", "place", "programme", "reason"})
MAX_PROGRAMME_CHARS = 20_000


def text_field(data: dict[str, object], name: str, max_len: int, *, required: bool) -> str:
    value = text.clean(str_field(data, name, required=required, max_len=max_len)).strip()
    if required and not value:
        raise BadRequest(f"field {name!r} must not be empty")
    return value


async def create_meeting(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    data = await json_body(request)
    only_fields(data, MEETING_FIELDS)
    slug = str_field(data, "slug", max_len=64)
    if not SLUG_RE.fullmatch(slug):
        raise BadRequest("field 'slug' must be 1 to 64 of a-z, 0-9 and '-'")
    title = text_field(data, "title", 200, required=True)
    theme_slug = str_field(data, "theme", max_len=64)
    starts_at = rules.parse_meeting_start(str_field(data, "date", max_len=64))
    place = text_field(data, "place", 200, required=True)
    programme = text_field(data, "programme", MAX_PROGRAMME_CHARS, required=False)
    reason = reason_field(data, required=False)
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
    return [
        Route("/api/meetings", create_meeting, methods=["POST"]),
        Route("/api/meetings", list_meetings, methods=["GET"]),
    ]

"""The area × theme × layer overview."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence.events import iso
from persistence.meetings import all_meetings, ref, theme_rooms, theme_slugs, upcoming
from persistence.models import utcnow
from persistence.overview import overview
from rooms.meetings import window_start
from web.deps import caller, services
from web.openapi import api
from web.responses import JSON
from web.wire.between import overview_wire
from web.wire.meetings import Overview, meeting_wire


async def get_overview(request: Request) -> Response:
    """Cells count all messages, `recent` those since the last meeting, `unread` the unread."""
    svc = services(request)
    who = await caller(request)
    now = utcnow()
    async with svc.db.read() as session:
        since = window_start([ref(m) for m in await all_meetings(session)], now)
        body = overview_wire(await overview(session, who.actor, since))
        body["since_at"] = iso(since)
        ahead = await upcoming(session, now)
        body["next_meeting"] = (
            meeting_wire(ahead, await theme_slugs(session), await theme_rooms(session))
            if ahead is not None
            else None
        )
    return JSON(body)


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api("/api/overview", "GET", get_overview,
            "areas × themes: activity and unread per cell; layers per question",
            "between meetings", out=Overview),
    ]
    # fmt: on

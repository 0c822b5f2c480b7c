"""A meeting with its links, and its draft agenda (JSON, or Markdown for moderators).

The meeting itself (`/api/meetings`, `/api/meetings/{slug}`) lives in `web.api.meetings`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute

from persistence.agenda import agenda
from persistence.meetings import (
    meeting_by_slug,
)
from persistence.models import Meeting
from rooms.errors import Forbidden, NotFound
from rooms.model import SLUG_RE, Actor
from rooms.render import agenda_markdown
from web.deps import caller, services
from web.openapi import api
from web.responses import JSON, query_as
from web.wire import meetings as wire
from web.wire.between import agenda_wire


def may_export(actor: Actor) -> bool:
    """Moderators export the agenda: staff, or whoever moderates a room."""
    return actor.is_staff or bool(actor.moderated_room_ids)


async def _meeting(session: AsyncSession, slug: str) -> Meeting:
    meeting = await meeting_by_slug(session, slug) if SLUG_RE.fullmatch(slug) else None
    if meeting is None:
        raise NotFound(f"no meeting {slug!r}")
    return meeting


async def get_agenda(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    fmt = query_as(request, wire.AgendaQuery).format
    if fmt == "md" and not may_export(who.actor):
        raise Forbidden("only moderators may export the agenda")
    async with svc.db.read() as session:
        meeting = await _meeting(session, request.path_params["slug"])
        body = agenda_wire(await agenda(session, who.actor, meeting))
    if fmt == "md":
        return PlainTextResponse(
            agenda_markdown(body),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="agenda-{meeting.slug}.md"'},
        )
    # Whether this caller may ask for `format=md`, so a client shows the export link.
    body["may_export"] = may_export(who.actor)
    return JSON(body)


def routes() -> list[BaseRoute]:
    markdown = (("text/markdown", {"type": "string"}),)
    # fmt: off
    return [
        api("/api/meetings/{slug}/agenda", "GET", get_agenda,
            "the meeting's draft agenda: open questions, action items, decisions", "meetings",
            out=wire.Agenda, query=wire.AgendaQuery, errors=(403, 404), also=markdown),
    ]
    # fmt: on

""" "Sinds de vorige bijeenkomst": the catch-up page and "mark all read up to here"."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from chat import frames
from persistence.catchup import catchup
from persistence.models import utcnow
from persistence.rooms import readable_rooms, room_by_slug, set_read_marker
from rooms.errors import BadRequest, Forbidden, NotFound
from rooms.model import SLUG_RE
from web.deps import caller, services
from web.openapi import api
from web.responses import JSON, body_as, query_as
from web.wire import meetings as wire
from web.wire.between import catchup_wire


async def get_catchup(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    since = query_as(request, wire.CatchupQuery).since
    async with svc.db.read() as session:
        body = catchup_wire(await catchup(session, who.actor, since, utcnow()))
    return JSON(body)


async def mark_read(request: Request) -> Response:
    """Move the caller's read markers to the given seqs (never back), all or nothing."""
    svc = services(request)
    who = await caller(request)
    wanted = (await body_as(request, wire.ReadIn)).rooms
    stored: dict[str, int] = {}
    async with svc.db.write() as session:
        readable = {s.room.slug: s.room for s in await readable_rooms(session, who.actor)}
        for slug, seq in wanted.items():
            room = readable.get(slug)
            if room is None:
                if not SLUG_RE.fullmatch(slug) or await room_by_slug(session, slug) is None:
                    raise NotFound(f"no room {slug!r}")
                raise Forbidden(f"you may not read room {slug}")
            if seq > room.last_seq:
                raise BadRequest(f"room {slug} has no seq {seq} yet (last is {room.last_seq})")
            stored[slug] = await set_read_marker(session, who.user.id, room.id, seq)
    for slug, seq in stored.items():
        svc.realtime.notify_user(who.user.id, frames.ReadMarker(room=slug, seq=seq))
    return JSON({"rooms": stored})


def routes() -> list[BaseRoute]:
    between = "between meetings"
    # fmt: off
    return [
        api("/api/catchup", "GET", get_catchup,
            "what is new per readable room since the last meeting or the last visit", between,
            out=wire.Catchup, query=wire.CatchupQuery),
        api("/api/catchup/read", "POST", mark_read,
            "mark all read up to here: read markers per room", between,
            out=wire.ReadOut, body=wire.ReadIn, errors=(403, 404)),
    ]
    # fmt: on

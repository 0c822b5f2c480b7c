""" "Sinds de vorige bijeenkomst": the catch-up page and "mark all read up to here"."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from persistence.catchup import catchup
from persistence.models import utcnow
from persistence.rooms import readable_rooms, room_by_slug, set_read_marker
from rooms.errors import BadRequest, Forbidden, NotFound
from rooms.meetings import parse_since
from rooms.model import SLUG_RE
from web.deps import caller, services
from web.responses import JSON, json_body

MAX_ROOMS_PER_READ = 1000


async def get_catchup(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    since = parse_since(request.query_params.get("since"))
    async with svc.db.read() as session:
        body = await catchup(session, who.actor, since, utcnow())
    return JSON(body)


def _wanted_seqs(data: dict[str, object]) -> dict[str, int]:
    raw = data.get("rooms")
    if not isinstance(raw, dict) or not raw or len(raw) > MAX_ROOMS_PER_READ:
        raise BadRequest("field 'rooms' must be an object of room slug to seq")
    wanted: dict[str, int] = {}
    for slug, seq in raw.items():
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise BadRequest(f"field 'rooms': the seq of {slug!r} must be a whole number ≥ 0")
        wanted[slug] = seq
    return wanted


async def mark_read(request: Request) -> Response:
    """Move the caller's read markers to the given seqs (never back), all or nothing."""
    svc = services(request)
    who = await caller(request)
    wanted = _wanted_seqs(await json_body(request))
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
        svc.realtime.notify_user(who.user.id, {"type": "read", "room": slug, "seq": seq})
    return JSON({"rooms": stored})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/catchup", get_catchup, methods=["GET"]),
        Route("/api/catchup/read", mark_read, methods=["POST"]),
    ]

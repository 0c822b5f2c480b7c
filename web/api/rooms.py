"""Room list and room history."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from chat import reads
from chat.frames import event_frame
from persistence import events
from rooms.conversations import clean_topic
from rooms.errors import BadRequest
from web.deps import caller, readable_room, services
from web.openapi import api
from web.responses import JSON, query_as
from web.wire import rooms as wire


async def list_rooms(request: Request) -> Response:
    who = await caller(request)
    rooms = await reads.hello_rooms(services(request).db, who.actor, who.user.layer)
    return JSON({"rooms": rooms})


async def room_events(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    room = await readable_room(request, who)
    asked = query_as(request, wire.EventsQuery)
    after, before, around, limit = asked.after, asked.before, asked.around, asked.limit
    if sum(x is not None for x in (after, before, around)) > 1:
        raise BadRequest("give one of 'after', 'before' and 'around', not several")
    topic = clean_topic(asked.topic)
    if topic is not None and around is not None:
        raise BadRequest("'topic' pages with 'after' or 'before', not 'around'")
    if around is not None:
        async with svc.db.read() as session:
            page, more_before, more_after = await events.events_around(
                session, room.id, around, limit
            )
            last = await events.last_seq(session, room.id)
        return _page(
            room.slug,
            page,
            {
                "last_seq": last,
                "has_more": more_after,
                "has_more_before": more_before,
                "has_more_after": more_after,
            },
        )
    async with svc.db.read() as session:
        page, has_more = await events.events_page(
            session, room.id, after=after, before=before, limit=limit, topic=topic
        )
        last = await events.last_seq(session, room.id)
    return _page(room.slug, page, {"last_seq": last, "has_more": has_more})


def _page(slug: str, page: list[events.StoredEvent], rest: dict[str, object]) -> Response:
    """A page of events as their frames, with the paging fields after them."""
    body = {"events": [event_frame(slug, e) for e in page], **rest}
    return Response(msgspec.json.encode(body), media_type="application/json")


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api("/api/rooms", "GET", list_rooms, "the rooms the caller may read", "rooms",
            out=wire.RoomList),
        api("/api/rooms/{slug}/events", "GET", room_events,
            "room events after `after` (ascending), before `before`, or around `around`", "rooms",
            out=wire.EventPage, query=wire.EventsQuery, errors=(403, 404)),
    ]
    # fmt: on

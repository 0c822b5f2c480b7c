"""Marking messages: vraag, besluit, actiepunt; answered questions; theme tags.

Each handler parses, calls its act (web.actions.marks) and publishes the act's one room
event after the commit.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chat.frames import event_dict
from rooms.errors import BadRequest, NotFound
from rooms.marks import MAX_THEMES_PER_MESSAGE, check_fields, parse_due, parse_kind
from rooms.model import SLUG_RE
from web.actions import marks as acts
from web.actions.publish import Published, publish
from web.api.rooms import readable_room
from web.deps import caller, services
from web.responses import JSON, json_body

MAX_MESSAGE_ID = 2**62


def message_id_of(request: Request, name: str = "message_id") -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or int(raw) > MAX_MESSAGE_ID:
        raise NotFound(f"no message {raw!r}")
    return int(raw)


async def mark_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = (await readable_room(request, who)).slug
    message_id = message_id_of(request)
    data = await json_body(request, max_bytes=4096)
    kind = parse_kind(data.get("kind"))
    check_fields(kind, data.get("owner"), data.get("due"))
    due = parse_due(data.get("due"))
    owner = data.get("owner")
    return await published(
        request, await acts.mark(svc.db, who.actor, slug, message_id, kind, owner, due)
    )


async def mark_answered(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = (await readable_room(request, who)).slug
    message_id = message_id_of(request)
    data = await json_body(request, max_bytes=1024)
    reply_id = data.get("reply_id")
    if not isinstance(reply_id, int) or isinstance(reply_id, bool) or reply_id < 1:
        raise BadRequest("field 'reply_id' must be a message id")
    return await published(
        request, await acts.answer(svc.db, who.actor, slug, message_id, reply_id)
    )


async def unmark_message(request: Request) -> Response:
    """`DELETE .../mark`: by who marked it, the message's author or a moderator."""
    svc = services(request)
    who = await caller(request)
    slug = (await readable_room(request, who)).slug
    message_id = message_id_of(request)
    return await published(request, await acts.unmark(svc.db, who.actor, slug, message_id))


async def published(request: Request, done: Published) -> Response:
    """Send the act's one room event after its commit; answer with that event."""
    await publish(services(request).realtime, done)
    slug, ev = done.events[0]
    return JSON({"event": event_dict(slug, ev)})


def _theme_slugs(data: dict[str, Any]) -> list[str]:
    raw = data.get("themes")
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise BadRequest("field 'themes' must be a list of theme slugs")
    slugs = list(dict.fromkeys(raw))
    if len(slugs) > MAX_THEMES_PER_MESSAGE:
        raise BadRequest(f"at most {MAX_THEMES_PER_MESSAGE} themes per message")
    for slug in slugs:
        if not SLUG_RE.fullmatch(slug):
            raise BadRequest(f"field 'themes': {slug!r} is not a slug")
    return slugs


async def tag_message(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = (await readable_room(request, who)).slug
    message_id = message_id_of(request)
    wanted = _theme_slugs(await json_body(request, max_bytes=4096))
    return await published(request, await acts.tag(svc.db, who.actor, slug, message_id, wanted))


def routes() -> list[BaseRoute]:
    base = "/api/rooms/{slug}/messages/{message_id}"
    return [
        Route(f"{base}/mark", mark_message, methods=["POST"]),
        Route(f"{base}/mark", unmark_message, methods=["DELETE"]),
        Route(f"{base}/answered", mark_answered, methods=["POST"]),
        Route(f"{base}/tags", tag_message, methods=["POST"]),
    ]

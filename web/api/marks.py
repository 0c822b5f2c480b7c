"""Marking messages: vraag, besluit, actiepunt; answered questions; theme tags.

Each handler parses, calls its act (web.actions.marks) and publishes the act's one room
event after the commit.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from chat.frames import event_dict
from rooms.errors import BadRequest, NotFound
from rooms.marks import MAX_THEMES_PER_MESSAGE, check_fields, parse_due
from rooms.model import SLUG_RE, Actor
from web.actions import marks as acts
from web.actions.publish import Published, publish
from web.deps import caller, readable_room, services
from web.openapi import api
from web.responses import JSON, body_as
from web.wire import MAX_ID
from web.wire import meetings as wire


def message_id_of(request: Request, name: str = "message_id") -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise NotFound(f"no message {raw!r}")
    return int(raw)


async def _target(request: Request) -> tuple[Actor, str, int]:
    """The caller, the room (which they may read) and the message the path names."""
    who = await caller(request)
    slug = (await readable_room(request, who)).slug
    return who.actor, slug, message_id_of(request)


async def mark_message(request: Request) -> Response:
    svc = services(request)
    actor, slug, message_id = await _target(request)
    given = await body_as(request, wire.MarkIn, max_bytes=4096)
    kind, owner = given.kind, given.owner
    check_fields(kind, owner, given.due)
    due = parse_due(given.due)
    done = await acts.mark(svc.db, actor, slug, message_id, kind, owner, due)
    if kind == "actiepunt" and owner is not None and svc.notifications is not None:
        svc.notifications.assigned(slug, message_id)
    return await published(request, done)


async def mark_answered(request: Request) -> Response:
    actor, slug, message_id = await _target(request)
    reply_id = (await body_as(request, wire.AnsweredIn, max_bytes=1024)).reply_id
    done = await acts.answer(services(request).db, actor, slug, message_id, reply_id)
    return await published(request, done)


async def action_status(request: Request) -> Response:
    """`POST .../status`: an actiepunt's open, bezig, gedaan or vervallen."""
    actor, slug, message_id = await _target(request)
    status = (await body_as(request, wire.ActionStatusIn, max_bytes=1024)).status
    done = await acts.set_status(services(request).db, actor, slug, message_id, status)
    return await published(request, done)


async def unmark_message(request: Request) -> Response:
    """`DELETE .../mark`: by who marked it, the message's author or a moderator."""
    actor, slug, message_id = await _target(request)
    done = await acts.unmark(services(request).db, actor, slug, message_id)
    return await published(request, done)


async def published(request: Request, done: Published) -> Response:
    """Send the act's one room event after its commit; answer with that event."""
    await publish(services(request).realtime, done)
    slug, ev = done.events[0]
    return JSON({"event": event_dict(slug, ev)})


def _theme_slugs(raw: list[str]) -> list[str]:
    slugs = list(dict.fromkeys(raw))
    if len(slugs) > MAX_THEMES_PER_MESSAGE:
        raise BadRequest(f"at most {MAX_THEMES_PER_MESSAGE} themes per message")
    for slug in slugs:
        if not SLUG_RE.fullmatch(slug):
            raise BadRequest(f"field 'themes': {slug!r} is not a slug")
    return slugs


async def tag_message(request: Request) -> Response:
    actor, slug, message_id = await _target(request)
    wanted = _theme_slugs((await body_as(request, wire.TagsIn, max_bytes=4096)).themes)
    done = await acts.tag(services(request).db, actor, slug, message_id, wanted)
    return await published(request, done)


def routes() -> list[BaseRoute]:
    base = "/api/rooms/{slug}/messages/{message_id}"
    tag, out, errors = "between meetings", wire.Marked, (403, 404, 409)
    # fmt: off
    return [
        api(f"{base}/mark", "POST", mark_message, "mark a message as vraag, besluit or actiepunt",
            tag, out=out, body=wire.MarkIn, errors=errors),
        api(f"{base}/mark", "DELETE", unmark_message, "remove a message's mark", tag,
            out=out, errors=(403, 404)),
        api(f"{base}/answered", "POST", mark_answered, "mark a question answered by a reply",
            tag, out=out, body=wire.AnsweredIn, errors=errors),
        api(f"{base}/status", "POST", action_status,
            "set an actiepunt's status: open, bezig, gedaan, vervallen", tag,
            out=out, body=wire.ActionStatusIn, errors=errors),
        api(f"{base}/tags", "POST", tag_message, "tag a message with themes", tag,
            out=out, body=wire.TagsIn, errors=errors),
    ]
    # fmt: on

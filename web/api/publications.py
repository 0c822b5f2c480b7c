"""Publication endpoints: make one, answer a consent request, withdraw, list one's requests.

Thin handlers: parse, call the act in `web.actions.publications`, encode. The public pages
that show what is published are in `web.public`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence.events import iso
from rooms.errors import BadRequest
from rooms.publications import Lesson, Status
from web.actions import publications as acts
from web.actions.publications import View
from web.api.common import acting, path_id, sent
from web.deps import caller, services
from web.openapi import api
from web.responses import JSON, body_as, query_as
from web.wire.publications import (
    ConsentIn,
    PublicationIn,
    PublicationOut,
    Publications,
    PublicationsQuery,
)


def publication_wire(view: View, viewer_id: int) -> dict[str, Any]:
    """The publication as its listed authors and the staff see it."""
    p = view.publication
    mine = next(({"consent": a.consent, "show_name": a.show_name}
                 for a, u in view.authors if u.id == viewer_id), None)  # fmt: skip
    authors = {u.id: u for _, u in view.authors}
    return {
        "id": p.id,
        "kind": p.kind,
        "title": p.title,
        "status": p.status,
        "authors": [
            {
                "username": u.username,
                "consent": a.consent,
                "display_name": u.display_name,
                "organisation": u.organisation,
                "layer": u.layer,
                "show_name": a.show_name,
            }
            for a, u in view.authors
        ],
        "body": p.body,
        "context": p.context,
        "worked": p.worked,
        "did_not_work": p.did_not_work,
        "area": p.area,
        "theme": p.theme,
        "layers": [layer for layer in p.layers.split(",") if layer],
        "room": view.room,
        "meeting": view.meeting,
        "quotes": [
            {
                "message_id": q.message_id,
                "author": authors[q.author_id].username if q.author_id in authors else "",
                "body": q.body,
                "created_at": iso(q.written_at),
            }
            for q in view.quotes
        ],
        "created_at": iso(p.created_at),
        "published_at": iso(p.published_at),
        "withdrawn_at": iso(p.withdrawn_at),
        "url": f"/openbaar/{p.id}" if p.status == Status.PUBLISHED else None,
        "mine": mine,
    }


def _lesson(given: PublicationIn) -> tuple[Lesson, str, tuple[int, ...]]:
    for name in ("title", "body", "room", "message_ids"):
        if getattr(given, name) is None:
            raise BadRequest(f"field {name!r} is required for a lesson")
    assert given.title is not None and given.body is not None and given.room is not None
    lesson = Lesson(
        title=given.title,
        body=given.body,
        context=given.context,
        worked=given.worked,
        did_not_work=given.did_not_work,
        area=given.area,
        theme=given.theme,
        layers=tuple(given.layers),
    )
    return lesson, given.room, tuple(given.message_ids or ())


async def create_publication(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, PublicationIn)
    if given.kind == "report":
        if given.meeting is None:
            raise BadRequest("field 'meeting' is required for a report")
        view, done = await acts.create_report(svc.db, acting(request, who), given.meeting)
    else:
        lesson, room, ids = _lesson(given)
        view, done = await acts.create_lesson(svc.db, acting(request, who), lesson, room, ids)
    answer = JSON({"publication": publication_wire(view, who.user.id)}, status_code=201)
    return await sent(request, done, answer)


async def answer(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, ConsentIn)
    publication_id = path_id(request, "publication_id")
    view, done = await acts.consent(
        svc.db, acting(request, who), publication_id, given.consent, given.show_name
    )
    return await sent(request, done, JSON({"publication": publication_wire(view, who.user.id)}))


async def withdraw(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    publication_id = path_id(request, "publication_id")
    done = await acts.withdraw(svc.db, acting(request, who), publication_id)
    return await sent(request, done, Response(status_code=204))


async def one(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    view = await acts.one(svc.db, who.actor, path_id(request, "publication_id"))
    return JSON({"publication": publication_wire(view, who.user.id)})


async def listed(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    which = query_as(request, PublicationsQuery).mine
    views = await acts.mine(svc.db, who.actor, which)
    return JSON({"publications": [publication_wire(v, who.user.id) for v in views]})


def routes() -> list[BaseRoute]:
    base, one_path = "/api/publications", "/api/publications/{publication_id:int}"
    t = "publications"
    # fmt: off
    return [
        api(base, "POST", create_publication,
            "offer a lesson card or a verslag to the public pages (moderators, admins)", t,
            out=PublicationOut, status=201, body=PublicationIn, errors=(403, 404, 409)),
        api(base, "GET", listed,
            "publications that list the caller: `mine=pending` (unanswered), `listed`, "
            "`created` (made by the caller)", t,
            out=Publications, query=PublicationsQuery),
        api(one_path, "GET", one, "one publication (listed authors, moderators, admins)", t,
            out=PublicationOut, errors=(403, 404)),
        api(one_path + "/consent", "POST", answer,
            "a listed author agrees or refuses, and chooses whether their name is shown", t,
            out=PublicationOut, body=ConsentIn, errors=(403, 404, 409)),
        api(one_path, "DELETE", withdraw,
            "withdraw: gone from /openbaar and the feed at once "
            "(moderators, admins, listed authors)", t,
            status=204, errors=(403, 404, 409)),
    ]
    # fmt: on

"""The glossary that widens search: read by everyone signed in, kept by moderators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence.models import GlossaryEntry
from rooms.errors import NotFound
from web.actions import glossary as acts
from web.actions.common import Acting
from web.deps import caller, client_address, services
from web.openapi import api
from web.responses import JSON, body_as
from web.wire import MAX_ID
from web.wire import glossary as wire


def _out(e: GlossaryEntry) -> wire.GlossaryOut:
    return wire.GlossaryOut(id=e.id, term=e.term, means=e.means)


async def list_glossary(request: Request) -> Response:
    who = await caller(request)
    found = await acts.list_entries(services(request).db, who.actor)
    return JSON(wire.Glossary([_out(e) for e in found]))


async def add_glossary(request: Request) -> Response:
    who = await caller(request)
    given = await body_as(request, wire.GlossaryIn, max_bytes=4096)
    acting = Acting.member(who.actor, client_address(request))
    entry = await acts.add_entry(services(request).db, acting, given.term, given.means)
    return JSON(_out(entry), status_code=201)


async def remove_glossary(request: Request) -> Response:
    who = await caller(request)
    raw = request.path_params["entry_id"]
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise NotFound(f"no glossary entry {raw!r}")
    acting = Acting.member(who.actor, client_address(request))
    await acts.remove_entry(services(request).db, acting, int(raw))
    return Response(status_code=204)


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api("/api/glossary", "GET", list_glossary, "the glossary search widens queries with",
            "search", out=wire.Glossary),
        api("/api/glossary", "POST", add_glossary, "add an entry (moderators and admins)",
            "search", out=wire.GlossaryOut, status=201, body=wire.GlossaryIn,
            errors=(400, 403, 409)),
        api("/api/glossary/{entry_id}", "DELETE", remove_glossary,
            "remove an entry (moderators and admins)", "search", status=204,
            errors=(403, 404)),
    ]
    # fmt: on

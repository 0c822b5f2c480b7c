"""The verslag endpoints: thin handlers over web.actions.verslag (docs/verslag.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence.events import iso
from web.actions import verslag as acts
from web.actions.publish import publish
from web.api.common import acting_caller
from web.bodylimit import REPORT_LIMIT
from web.deps import caller, services
from web.openapi import api
from web.responses import JSON, body_as
from web.wire import verslag as wire


async def put_report(request: Request) -> Response:
    svc = services(request)
    acting = await acting_caller(request)
    given = await body_as(request, wire.VerslagIn, max_bytes=REPORT_LIMIT)
    report = await acts.write(svc.db, acting, request.path_params["slug"], given.body)
    files = await acts.report_files(svc.db, request.path_params["slug"])
    return JSON({"report": wire.report_wire(report, files)})


async def publish_report(request: Request) -> Response:
    svc = services(request)
    acting = await acting_caller(request)
    report, done = await acts.publish(svc.db, acting, request.path_params["slug"])
    await publish(svc.realtime, done)
    files = await acts.report_files(svc.db, request.path_params["slug"])
    return JSON({"report": wire.report_wire(report, files)})


async def get_report(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    report = await acts.read(svc.db, who.actor, request.path_params["slug"])
    files = await acts.report_files(svc.db, request.path_params["slug"])
    return JSON({"report": wire.report_wire(report, files)})


async def get_revisions(request: Request) -> Response:
    svc = services(request)
    acting = await acting_caller(request)
    found = await acts.revisions(svc.db, acting, request.path_params["slug"])
    return JSON(
        {
            "revisions": [
                {
                    "revision": r.revision,
                    "updated_at": iso(r.updated_at),
                    "updated_by": r.updated_by,
                }
                for r in found
            ]
        }
    )


async def preview_report(request: Request) -> Response:
    """The HTML of a text not stored: the editor's preview, rendered as the report will be."""
    svc = services(request)
    acting = await acting_caller(request)
    given = await body_as(request, wire.VerslagIn, max_bytes=REPORT_LIMIT)
    await acts.check_may_write(svc.db, acting, request.path_params["slug"])
    return JSON({"html": await acts.preview(given.body)})


async def draft_report(request: Request) -> Response:
    svc = services(request)
    acting = await acting_caller(request)
    return JSON({"body": await acts.draft(svc.db, acting, request.path_params["slug"])})


def routes() -> list[BaseRoute]:
    base = "/api/meetings/{slug}/report"
    # fmt: off
    return [
        api(base, "PUT", put_report, "store a new revision of the meeting's report",
            "verslag", out=wire.VerslagOut, body=wire.VerslagIn, errors=(403, 404, 413)),
        api(base, "GET", get_report, "the meeting's report (a draft only for moderators)",
            "verslag", out=wire.VerslagOut, errors=(404,)),
        api(f"{base}/publish", "POST", publish_report, "publish the meeting's report",
            "verslag", out=wire.VerslagOut, errors=(403, 404)),
        api(f"{base}/revisions", "GET", get_revisions, "the report's revisions (moderators)",
            "verslag", out=wire.VerslagRevisions, errors=(403, 404)),
        api(f"{base}/preview", "POST", preview_report,
            "render a text as the report would be, without storing it (moderators)",
            "verslag", out=wire.VerslagPreview, body=wire.VerslagIn, errors=(403, 404, 413)),
        api(f"{base}/draft", "GET", draft_report,
            "a first text from the meeting's agenda, decisions and action items (moderators)",
            "verslag", out=wire.VerslagDraft, errors=(403, 404)),
    ]
    # fmt: on

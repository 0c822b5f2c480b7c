"""The Starlette application: a lifespan that builds the services, and the routes."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from chat.clock import SYSTEM_CLOCK, Clock
from chat.config import ChatConfig
from chat.realtime import Realtime
from persistence import wallclock
from persistence.db import Database
from persistence.search.index import catch_up as search_catch_up
from rooms.errors import DomainError
from web import between, public, ws
from web.actions.files import sweep_orphans
from web.admission import SETUP_GATE_STATE, gates
from web.api import (
    accounts,
    conversations,
    demo,
    files,
    glossary,
    meetings,
    moderation,
    notifications,
    oidc,
    people,
    publications,
    rooms,
    search,
    session,
)
from web.assets import IMMUTABLE, REVALIDATE, Assets, StaticTree
from web.attachments import KEY as ATTACHMENTS
from web.attachments import Attachments
from web.bodylimit import BodyLimit
from web.clientpaths import CLIENT_ROUTE
from web.deps import Services
from web.headers import SecurityHeaders
from web.health import healthz, readyz
from web.logs import configure_logging
from web.metrics import metrics_endpoint
from web.notify import Notifications
from web.openapi import api, openapi_json
from web.passwords import configure_passwords
from web.requestlog import RequestLogMiddleware
from web.responses import domain_error_handler, error_response
from web.settings import Settings, load_settings
from web.throttle import login_throttle
from web.wire.session import Ready, Status
from web.wsschema import ws_schema_json

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("werkplaats.app")


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response("not_found", "no such resource", 404)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    response = error_response("method_not_allowed", "method not allowed here", 405)
    # The methods the path does take (`Allow`, which a 405 must carry), as the router set them.
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    return error_response("internal", "internal error", 500)


async def not_answered(request: Request, exc: Exception) -> Response:
    """The database (or another server) did not answer in time or refused the connection, as
    while it is overloaded or restarting: 503 with Retry-After, which clients retry, as `/ws`
    answers (web/ws.py); not 500 `internal`. Seen in a rolling upgrade: a new PostgreSQL
    connection past its 5 s connect timeout while every client reconnected to one host."""
    log.warning(
        "%s %s: refused, a server did not answer: %s",
        request.method, request.url.path, type(exc).__name__,
    )  # fmt: skip
    return error_response(
        "unavailable", "a service this needs did not answer; try again", 503,
        retry_after=ws.DATABASE_RETRY_AFTER,
    )  # fmt: skip


def routes() -> list[BaseRoute]:
    # Hashed once per process; every worker of a release computes the same version.
    assets = Assets.load(STATIC)

    async def index(request: Request) -> Response:
        return assets.index(request)

    return [
        Route("/", index),
        api("/healthz", "GET", healthz, "the process serves", "health", out=Status, auth=False),
        api(
            "/readyz",
            "GET",
            readyz,
            "database and broker answer",
            "health",
            out=Ready,
            unready=Ready,
            auth=False,
        ),
        Route("/metrics", metrics_endpoint),
        Route("/openapi.json", openapi_json),
        Route("/ws-schema.json", ws_schema_json),
        *session.routes(),
        *accounts.routes(),
        *oidc.routes(),
        *rooms.routes(),
        *search.routes(),
        *moderation.routes(),
        *meetings.routes(),
        *files.routes(),
        *notifications.routes(),
        *between.routes(),
        *publications.routes(),
        *public.routes(assets),
        *conversations.routes(),
        *people.routes(),
        *glossary.routes(),
        *demo.routes(),
        # The client's own paths (/kamer/<slug>, /zoeken, …) load its page; see web/clientpaths.py.
        Route(CLIENT_ROUTE, index, methods=["GET"]),
        WebSocketRoute("/ws", ws.websocket_endpoint),
        Mount(assets.prefix, StaticTree(assets.files, IMMUTABLE)),
        Mount("/static", StaticTree(assets.files, REVALIDATE), name="static"),
    ]


class App(Starlette):
    """The app, with `/ws` taken before Starlette's middleware and router.

    None of that stack acts on a WebSocket (the error and HTTP middleware pass it through,
    `/ws` handles its own errors), but each layer is a coroutine frame that every open
    connection keeps alive as long as it is open, and a call each upgrade pays (see
    docs/performance.md). The route stays in the router for anything this does not take.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/ws" and not scope.get("root_path"):
            scope["app"] = self
            await ws.websocket_endpoint(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)


def chat_config(settings: Settings) -> ChatConfig:
    """The real-time side's part of the settings."""
    return ChatConfig(**{f.name: getattr(settings, f.name) for f in fields(ChatConfig)})


def create_app(
    settings: Settings | None = None, *, freeze_gc: bool = False, clock: Clock = SYSTEM_CLOCK
) -> Starlette:
    """Build the app; the lifespan opens the database, Redis and the real-time hub.

    `freeze_gc` is for a process that serves only this app (`werkplaats serve`), not for
    one that also runs other things (the tests' in-process servers); `clock` drives the
    real-time timers (a test's fake one moves only when told).
    """
    settings = settings or load_settings()
    configure_passwords(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        db = Database(
            settings.database_url,
            connect_timeout=settings.database_connect_timeout_seconds,
            command_timeout=settings.database_command_timeout_seconds,
        )
        # Short timeouts: a paused Redis must not hang logins (the throttle falls back).
        redis = (
            Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            if settings.redis_url
            else None
        )
        step = wallclock.set_step(settings.clock_offset_seconds)
        await wallclock.try_read(db)
        clock_follower = asyncio.create_task(wallclock.follow(db))
        throttle = login_throttle(settings, redis)
        realtime = Realtime(chat_config(settings), db, clock=clock)
        attachments = Attachments.from_settings(settings)
        notifier = Notifications(settings, db, realtime.presence)
        realtime.notifier = notifier
        extra = {ATTACHMENTS: attachments}
        app.state.services = Services(
            settings, db, throttle, realtime, gates(settings), extra, notifier
        )
        await attachments.start()
        await notifier.start()
        sweeper = asyncio.create_task(sweep_orphans(attachments, db))
        # The word list read off the event loop; after an upgrade, compounds indexed.
        indexer = asyncio.create_task(search_catch_up(db))
        await realtime.start()
        if freeze_gc:
            # What start-up made lives as long as the process: full collections skip it.
            gc.collect()
            gc.freeze()
        try:
            # The set-up gate for the server's HTTP protocol too (web/guard.py).
            yield {SETUP_GATE_STATE: app.state.services.gates.ws_setup}
        finally:
            await realtime.stop()
            sweeper.cancel()
            indexer.cancel()
            clock_follower.cancel()
            await asyncio.gather(sweeper, indexer, clock_follower, return_exceptions=True)
            wallclock.set_step(step)
            await attachments.close()
            await notifier.stop()
            if redis is not None:
                await redis.aclose()
            await db.dispose()

    app = App(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={
            DomainError: domain_error_handler,
            404: not_found,
            405: method_not_allowed,
            500: server_error,
            # Not OSError as a whole: a missing file is a fault of ours, not one to retry.
            TimeoutError: not_answered,
            ConnectionError: not_answered,
        },
    )
    app.add_middleware(BodyLimit, file_limit=settings.files_max_bytes)
    app.add_middleware(SecurityHeaders, settings=settings)
    # Added last, so outermost: the request id is set before anything else logs.
    app.add_middleware(RequestLogMiddleware, trust_incoming_id=bool(settings.trusted_proxies))
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` and for `werkplaats serve --workers N`."""
    settings = load_settings(require_secret=True)
    # uvicorn applies `log_config` in each worker already; this covers `uvicorn --factory`.
    configure_logging(settings)
    return create_app(settings, freeze_gc=True)

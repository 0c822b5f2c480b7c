"""What every endpoint needs from app.state, typed, and the caller of a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection

from chat import reads
from persistence.db import Database
from persistence.models import Room
from web.admission import Gates
from web.auth import SAFE_METHODS, Caller, authenticate, check_origin
from web.settings import Settings
from web.throttle import LoginThrottle

if TYPE_CHECKING:
    from chat.realtime import Realtime
    from web.notify import Notifications


@dataclass
class Services:
    """Built by the lifespan, one per process; no module-level singletons."""

    settings: Settings
    db: Database
    login_throttle: LoginThrottle
    realtime: Realtime
    gates: Gates
    extra: dict[str, Any]
    # Pushes and e-mails of this process (web/notify.py); also `realtime.notifier`.
    notifications: Notifications | None = None


def services(conn: HTTPConnection) -> Services:
    svc: Services = conn.app.state.services
    return svc


async def caller(conn: HTTPConnection) -> Caller:
    """Authenticate, and for cookie-authenticated state changes also check the Origin."""
    svc = services(conn)
    who = await authenticate(conn, svc.db, svc.settings)
    if who.via_cookie and conn.scope.get("method", "GET") not in SAFE_METHODS:
        check_origin(conn, svc.settings)
    return who


async def readable_room(conn: HTTPConnection, who: Caller) -> Room:
    """The room named in the path, if it exists and the caller may read it."""
    async with services(conn).db.read() as session:
        return await reads.readable_room(session, who.actor, conn.path_params["slug"])


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"

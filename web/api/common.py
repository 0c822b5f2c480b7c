"""What several endpoint modules share, so that none imports another."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chat.metrics import LOGINS
from rooms.errors import NotFound, RateLimited
from web.actions.common import Acting
from web.actions.publish import Published, publish
from web.auth import COOKIE_NAME, Caller, own_origins
from web.deps import caller, client_address, services
from web.settings import Settings
from web.wire import MAX_ID


def path_id(request: Request, name: str) -> int:
    value: int = request.path_params[name]
    if value > MAX_ID:
        raise NotFound(f"no {name.replace('_', ' ')} {value}")
    return value


def acting(request: Request, who: Caller) -> Acting:
    """The caller as the acts and the audit log see them."""
    return Acting.member(who.actor, client_address(request))


async def acting_caller(request: Request) -> Acting:
    """Authenticate, then the caller as the acts see them."""
    return acting(request, await caller(request))


async def sent(request: Request, published: Published, response: Response) -> Response:
    """Publish what the act committed, then answer."""
    await publish(services(request).realtime, published)
    return response


def public_base(request: Request, settings: Settings) -> str:
    """Where mailed links point: the public URL, else this server's own address (never the
    request's Host header, which anyone can set)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    own = own_origins(request)
    return own[0] if own else "http://localhost"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The session cookie of a login (a password, an invitation accepted, single sign-on)."""
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=services(request).settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def throttled(wait: float) -> None:
    """Refuse (429) an attempt the login throttle says must wait."""
    if wait > 0:
        LOGINS.labels("throttled").inc()
        raise RateLimited("too many failed logins; try again later", retry_after=wait)

"""Log in, log out, and who am I."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from chat.metrics import LOGINS
from persistence import accounts
from persistence.models import User
from rooms.errors import BadCredentials
from web.admission import Refused
from web.api import oidc as oidc_pages
from web.api.common import set_session_cookie, throttled
from web.auth import COOKIE_NAME, check_origin, new_token, session_expires_at, token_hash
from web.deps import Services, caller, client_address, services
from web.devices import remember_device, trusted_device
from web.openapi import api
from web.passwords import check_password_async
from web.responses import JSON, body_as, error_response
from web.throttle import Attempt
from web.wire import session as wire
from web.wire import user as user_wire


async def login(request: Request) -> Response:
    """Check a password (throttled, admitted, the same work for any username); open a session."""
    svc = services(request)
    settings = svc.settings
    check_origin(request, settings)
    given = await body_as(request, wire.LoginIn, max_bytes=4096)
    username, password = given.username.strip().lower(), given.password
    attempt = Attempt(
        username, client_address(request), trusted_device(request, username, settings)
    )
    # Attempts already refused are answered at once, without queueing behind the gate.
    throttled(await svc.login_throttle.peek(attempt))
    try:
        async with svc.gates.login.admit():
            user, token = await _log_in(svc, attempt, password)
    except Refused as exc:
        return error_response(
            "unavailable",
            "too many logins at once; retry after Retry-After seconds",
            503,
            retry_after=exc.retry_after,
        )
    response = JSON({"token": token, "user": user_wire(user)})
    set_session_cookie(response, request, token)
    remember_device(response, request, username, settings)
    return response


async def _log_in(svc: Services, attempt: Attempt, password: str) -> tuple[User, str]:
    """Reserve the attempt, verify (and rehash) outside any transaction, then write briefly."""
    throttled(await svc.login_throttle.reserve(attempt))
    async with svc.db.read() as session:
        user = await accounts.user_by_name(session, attempt.username)
    stored = user.password_hash if user is not None else None
    # One argon2 verification whether or not the user exists (web.passwords.check_password).
    outcome = await check_password_async(stored, password)
    if user is None or stored is None or not outcome.ok:
        LOGINS.labels("failed").inc()
        raise BadCredentials("unknown user or wrong password")
    await svc.login_throttle.succeeded(attempt)
    token = new_token()
    async with svc.db.write() as session:
        if outcome.new_hash is not None:
            await accounts.replace_password_hash(session, user.id, stored, outcome.new_hash)
        await accounts.create_session(
            session,
            user.id,
            token_hash(token, svc.settings.secret_key),
            session_expires_at(svc.settings),
        )
    LOGINS.labels("ok").inc()
    return user, token


async def logout(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.write() as session:
        await accounts.revoke_session(session, who.token_hash)
        signed_on = await oidc_pages.take_signed_on(session, who.token_hash)
    await svc.realtime.session_revoked(who.user.id, who.token_hash)
    response = Response(status_code=204)
    if signed_on is not None:
        # The provider's session ends too when the client sends the browser there.
        url = await oidc_pages.provider_logout_url(request, svc, signed_on)
        if url is not None:
            response.headers[oidc_pages.LOGOUT_HEADER] = url
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


async def me(request: Request) -> Response:
    who = await caller(request)
    return JSON({"user": user_wire(who.user)})


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api("/api/session", "POST", login, "log in; sets the session cookie", "session",
            out=wire.LoginOut, body=wire.LoginIn, errors=(401, 403, 429), auth=False),
        api("/api/session", "DELETE", logout,
            "log out: the token and cookie stop working, open sockets close (1008)", "session",
            status=204, errors=(403,)),
        api("/api/me", "GET", me, "who am I", "session", out=wire.Me),
    ]
    # fmt: on

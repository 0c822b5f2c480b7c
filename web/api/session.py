"""Log in, log out, and who am I."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chat.metrics import LOGINS
from persistence import accounts
from persistence.models import Member, User
from rooms.errors import BadCredentials, RateLimited
from web.auth import COOKIE_NAME, check_origin, new_token, session_expires_at, token_hash
from web.deps import caller, client_address, services
from web.passwords import hash_password_async, needs_rehash, verify_password_async
from web.responses import JSON, json_body, str_field


def user_wire(user: User | Member) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "organisation": user.organisation,
        "layer": user.layer,
        "role": user.role,
    }


async def login(request: Request) -> Response:
    svc = services(request)
    check_origin(request, svc.settings)
    data = await json_body(request, max_bytes=4096)
    username = str_field(data, "username", max_len=256).strip().lower()
    password = str_field(data, "password", max_len=1024)
    keys = (f"user:{username}", f"addr:{client_address(request)}")
    wait = max([await svc.login_failures.blocked_for(k) for k in keys])
    if wait > 0:
        LOGINS.labels("throttled").inc()
        raise RateLimited("too many failed logins; try again later", retry_after=wait)

    async with svc.db.read() as session:
        user = await accounts.user_by_name(session, username)
    stored = user.password_hash if user is not None else None
    if user is None or not await verify_password_async(stored, password):
        for key in keys:
            await svc.login_failures.fail(key)
        LOGINS.labels("failed").inc()
        raise BadCredentials("unknown user or wrong password")
    await svc.login_failures.reset(keys[0])

    token = new_token()
    async with svc.db.write() as session:
        if stored is not None and needs_rehash(stored):
            fresh = await accounts.user_by_id(session, user.id)
            if fresh is not None:
                fresh.password_hash = await hash_password_async(password)
        await accounts.create_session(
            session,
            user.id,
            token_hash(token, svc.settings.secret_key),
            session_expires_at(svc.settings),
        )
    LOGINS.labels("ok").inc()
    response = JSON({"token": token, "user": user_wire(user)})
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=svc.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def logout(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.write() as session:
        await accounts.revoke_session(session, who.token_hash)
    await svc.realtime.session_revoked(who.user.id, who.token_hash)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


async def me(request: Request) -> Response:
    who = await caller(request)
    return JSON({"user": user_wire(who.user)})

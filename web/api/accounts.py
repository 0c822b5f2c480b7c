"""Accounts over HTTP: invitations, passwords, the admins' user list, the caller's own data."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from msgspec import UNSET
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence.events import iso
from persistence.models import User
from persistence.moderation import Source
from persistence.owndata import OwnData, own_data
from rooms.errors import Gone
from web import accountmail
from web.actions import accounts as acts
from web.actions.common import Acting
from web.actions.publish import publish
from web.api.common import acting, public_base, set_session_cookie, throttled
from web.auth import check_origin, new_token, session_expires_at, token_hash
from web.deps import Services, caller, client_address, services
from web.openapi import api
from web.responses import JSON, body_as, query_as
from web.throttle import Attempt
from web.wire import accounts as wire
from web.wire import user as user_wire
from web.wire.moderation import audit_entry
from web.wire.session import LoginOut

log = logging.getLogger("werkplaats.accounts")

# Reset requests count in the login throttle under this prefix of the address asked for.
RESET_PREFIX = "reset:"


def account_wire(user: User, rooms: acts.Rooms) -> dict[str, Any]:
    return {
        **msgspec.structs.asdict(user_wire(user)),
        "email": user.email,
        "disabled": user.disabled_at is not None,
        "areas": rooms.areas,
        "moderates": rooms.moderates,
    }


async def _acting(request: Request) -> tuple[Services, Acting, Any]:
    svc = services(request)
    who = await caller(request)
    return svc, acting(request, who), who


async def create_invitation(request: Request) -> Response:
    svc, acting, _ = await _acting(request)
    given = await body_as(request, wire.InviteIn, max_bytes=8192)
    invited = await acts.invite(
        svc.db,
        acting,
        svc.settings.secret_key,
        email=given.email,
        organisation=given.organisation,
        layer=given.layer,
        areas=given.areas,
        role=given.role,
        display_name=given.display_name,
    )
    url, _ = await accountmail.send_invitation(
        svc.settings,
        public_base(request, svc.settings),
        invited,
        acting.source.actor,
        acts.INVITATION_DAYS,
    )
    body = {"id": invited.id, "url": url, "expires_at": iso(invited.expires_at)}
    return JSON({"invitation": body}, status_code=201)


def _token(request: Request) -> str:
    token = str(request.path_params["token"])
    # Not a token this server makes: it cannot be an open invitation.
    if not (16 <= len(token) <= 128) or not token.replace("-", "").replace("_", "").isalnum():
        raise Gone("this invitation was used or has expired")
    return token


async def show_invitation(request: Request) -> Response:
    svc = services(request)
    found, username = await acts.invitation(
        db=svc.db, secret_key=svc.settings.secret_key, token=_token(request)
    )
    body: dict[str, Any] = {
        "email": found.email,
        "organisation": found.organisation,
        "layer": found.layer,
        "areas": list(found.areas),
        "display_name": found.display_name,
    }
    if username is not None:
        body["username"] = username
    return JSON({"invitation": body})


async def accept_invitation(request: Request) -> Response:
    svc = services(request)
    check_origin(request, svc.settings)
    token = _token(request)
    given = await body_as(request, wire.AcceptIn, max_bytes=4096)
    session_token = new_token()
    user = await acts.accept(
        svc.db,
        svc.settings.secret_key,
        token,
        username=given.username,
        password=given.password,
        display_name=given.display_name,
        address=client_address(request),
        session_hash=token_hash(session_token, svc.settings.secret_key),
        session_expires=session_expires_at(svc.settings),
    )
    response = JSON({"token": session_token, "user": user_wire(user)}, status_code=201)
    set_session_cookie(response, request, session_token)
    return response


async def change_password(request: Request) -> Response:
    svc, acting, who = await _acting(request)
    given = await body_as(request, wire.PasswordIn, max_bytes=4096)
    # A stolen session must not become a way to guess the password: logins' throttle.
    attempt = Attempt(who.user.username, client_address(request))
    throttled(await svc.login_throttle.reserve(attempt))
    published = await acts.change_password(
        svc.db, acting, who.user.id, given.current, given.new, who.token_hash
    )
    await svc.login_throttle.succeeded(attempt)
    await publish(svc.realtime, published)
    return Response(status_code=204)


async def patch_user(request: Request) -> Response:
    svc, acting, _ = await _acting(request)
    given = await body_as(request, wire.UserPatch, max_bytes=8192)

    def value(field: Any) -> Any:
        return None if field is UNSET else field

    change = acts.UserChanges(
        disabled=value(given.disabled),
        role=value(given.role),
        areas=value(given.areas),
        display_name=value(given.display_name),
        organisation=value(given.organisation),
        layer=value(given.layer),
        email=value(given.email),
        clear_email=given.email is None,
        reason=given.reason,
    )
    user, rooms, published = await acts.update_user(
        svc.db, acting, str(request.path_params["username"]), change
    )
    await publish(svc.realtime, published)
    return JSON({"user": account_wire(user, rooms)})


async def list_users(request: Request) -> Response:
    svc, acting, _ = await _acting(request)
    query = query_as(request, wire.UsersQuery)
    found = await acts.list_users(svc.db, acting, query.q, query.limit)
    return JSON({"users": [account_wire(user, rooms) for user, rooms in found]})


async def request_reset(request: Request) -> Response:
    """Mail a reset link if the address is an account's; the same answer either way."""
    svc = services(request)
    check_origin(request, svc.settings)
    given = await body_as(request, wire.ResetRequestIn, max_bytes=2048)
    email = acts.normalise_email(given.email)
    throttled(
        await svc.login_throttle.reserve(Attempt(RESET_PREFIX + email, client_address(request)))
    )
    source = Source("-", client_address(request))
    base = public_base(request, svc.settings)
    # Looked up and mailed after the answer: the time to answer must not tell who exists.
    task = asyncio.create_task(_mail_reset(svc, source, email, base))
    pending: set[asyncio.Task[None]] = svc.extra.setdefault("mail_tasks", set())
    pending.add(task)
    task.add_done_callback(pending.discard)
    return Response(status_code=202)


async def _mail_reset(svc: Services, source: Source, email: str, base: str) -> None:
    try:
        found = await acts.request_reset(svc.db, source, svc.settings.secret_key, email)
        if found is None:
            return
        url = accountmail.link(base, accountmail.RESET_PATH, found.token)
        message = accountmail.reset_message(
            svc.settings, found.email, found.display_name, url, acts.RESET_MINUTES
        )
        await accountmail.send(svc.settings, message, "reset link")
    except Exception:
        log.exception("password reset: the request could not be handled")


async def reset_password(request: Request) -> Response:
    svc = services(request)
    check_origin(request, svc.settings)
    given = await body_as(request, wire.ResetIn, max_bytes=4096)
    source = Source("-", client_address(request))
    published = await acts.reset_password(
        svc.db, source, svc.settings.secret_key, given.token, given.password
    )
    await publish(svc.realtime, published)
    return Response(status_code=204)


def own_data_wire(data: OwnData, rooms: acts.Rooms) -> dict[str, Any]:
    pref = data.preference
    return {
        "user": account_wire(data.user, rooms),
        "created_at": iso(data.user.created_at),
        "preferences": {
            "digest": pref.digest if pref is not None else True,
            "email": pref.email if pref is not None else None,
        },
        "messages": [
            {
                "room": room,
                "seq": m.seq,
                "message_id": m.id,
                "body": m.body,
                "created_at": iso(m.created_at),
                "edited_at": iso(m.edited_at),
                "hidden": m.hidden,
            }
            for room, m in data.messages
        ],
        "messages_complete": data.messages_complete,
        "reports": [
            {
                "room": room,
                "message_id": r.message_id,
                "reason": r.reason,
                "at": iso(r.at),
                "status": r.status,
            }
            for room, r in data.reports
        ],
        "read_markers": [{"room": room, "seq": r.seq} for room, r in data.read_markers],
        "sessions": [
            {
                "created_at": iso(s.created_at),
                "expires_at": iso(s.expires_at),
                "revoked_at": iso(s.revoked_at),
            }
            for s in data.sessions
        ],
        "audit": [audit_entry(entry) for entry in data.audit],
    }


async def export_me(request: Request) -> Response:
    """`GET /api/me/export`: the caller's own data as a JSON download (AVG art. 15)."""
    svc = services(request)
    who = await caller(request)
    async with svc.db.read() as session:
        user = await session.get(User, who.user.id)
        assert user is not None  # signed in a moment ago
        data = await own_data(session, user)
        rooms = (await acts.rooms_of(session, [user]))[user.id]
    # msgspec: the audit entries are Structs (web/wire/moderation.py).
    body = msgspec.json.format(msgspec.json.encode(own_data_wire(data, rooms)), indent=2)
    filename = f"werkplaats-gegevens-{user.username}.json"
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api("/api/invitations", "POST", create_invitation,
            "invite by e-mail (admins); the link works once, for 14 days", "accounts",
            out=wire.InvitationCreated, status=201, body=wire.InviteIn,
            errors=(400, 403, 409)),
        api("/api/invitations/{token}", "GET", show_invitation,
            "an open invitation (no session needed)", "accounts",
            out=wire.InvitationShown, errors=(410,), auth=False),
        api("/api/invitations/{token}/accept", "POST", accept_invitation,
            "accept: a new account and a session, as a login", "accounts",
            out=LoginOut, status=201, body=wire.AcceptIn, errors=(400, 403, 409, 410),
            auth=False),
        api("/api/me/password", "POST", change_password,
            "change one's password; the other sessions end", "accounts",
            status=204, body=wire.PasswordIn, errors=(400, 403, 409, 429)),
        api("/api/me/export", "GET", export_me,
            "the caller's own data as a JSON download (AVG art. 15)", "accounts"),
        api("/api/users", "GET", list_users, "the user list with search (admins)", "accounts",
            out=wire.Users, query=wire.UsersQuery, errors=(400, 403)),
        api("/api/users/{username}", "PATCH", patch_user,
            "change, disable or enable an account (admins); audited", "accounts",
            out=wire.AccountUserOut, body=wire.UserPatch, errors=(400, 403, 404, 409)),
        api("/api/password-reset", "POST", request_reset,
            "mail a one-time reset link; the same answer whether or not the address is known",
            "accounts", status=202, body=wire.ResetRequestIn, errors=(400, 403, 429),
            auth=False),
        api("/api/password-reset/confirm", "POST", reset_password,
            "set a new password with a reset link; every session ends", "accounts",
            status=204, body=wire.ResetIn, errors=(400, 403, 410), auth=False),
    ]
    # fmt: on

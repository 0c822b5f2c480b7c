"""A member's own settings: the digest e-mail on or off, and where it goes; and the digest's
one-click unsubscribe (RFC 8058), which needs no session but the link's signed token."""

from __future__ import annotations

import re
from typing import Any

from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence.models import Member, MemberPreference, User, utcnow
from rooms.errors import BadRequest, Forbidden
from web import unsubscribe as links
from web.actions.accounts import update_profile
from web.actions.common import Acting
from web.deps import caller, client_address, services
from web.openapi import api
from web.responses import JSON, body_as, query_as
from web.wire import session as wire
from web.wire import user as user_wire


def preferences_wire(pref: MemberPreference | None) -> dict[str, Any]:
    # Without an address no digest can go out: "on" would promise what cannot happen.
    email = pref.email if pref is not None else None
    return {"digest": bool(pref is not None and pref.digest and email), "email": email}


async def _preference(session: AsyncSession, user_id: int) -> MemberPreference:
    pref = await session.get(MemberPreference, user_id)
    if pref is None:
        pref = MemberPreference(user_id=user_id, digest=True, email=None, updated_at=utcnow())
        session.add(pref)
    return pref


async def get_preferences(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.read() as session:
        pref = await session.get(MemberPreference, who.user.id)
        return JSON({"user": user_wire(who.user), "preferences": preferences_wire(pref)})


async def patch_me(request: Request) -> Response:
    """`PATCH /api/me` `{"digest"?: bool, "email"?: str|null}`."""
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, wire.PreferencesIn, max_bytes=2048)
    profile = {
        f: getattr(given, f)
        for f in ("display_name", "organisation", "layer")
        if getattr(given, f) is not UNSET
    }
    if given.digest is UNSET and given.email is UNSET and not profile:
        raise BadRequest("give 'digest', 'email' or a profile field")
    user: User | Member = who.user
    if profile:
        acting = Acting.member(who.actor, client_address(request))
        user = await update_profile(svc.db, acting, who.user.id, profile)
    # The pattern's `$` would let a final newline through, into a mail header.
    if isinstance(given.email, str) and not re.fullmatch(wire.EMAIL_PATTERN, given.email):
        raise BadRequest("field 'email' must be an e-mail address or null")
    async with svc.db.write() as session:
        pref = await _preference(session, who.user.id)
        if given.digest is not UNSET:
            pref.digest = given.digest
        if given.email is not UNSET:
            pref.email = given.email
        if given.digest is True and not pref.email:
            raise BadRequest("the digest needs an e-mail address: give 'email' too")
        pref.updated_at = utcnow()
        await session.flush()
        body = {"user": user_wire(user), "preferences": preferences_wire(pref)}
    return JSON(body)


async def unsubscribe(request: Request) -> Response:
    """`POST /api/digest/unsubscribe?token=…`: the link's member gets no more digests."""
    svc = services(request)
    token = query_as(request, wire.UnsubscribeQuery).token
    user_id = links.user_of(token, svc.settings.secret_key)
    if user_id is None:
        raise Forbidden("this unsubscribe link is not valid")
    async with svc.db.write() as session:
        if await session.get(User, user_id) is None:
            raise Forbidden("this unsubscribe link is not valid")
        pref = await _preference(session, user_id)
        pref.digest = False
        pref.updated_at = utcnow()
    return JSON({"digest": False})


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api(links.PATH, "POST", unsubscribe,
            "one-click unsubscribe from the digest (RFC 8058): by the e-mail's signed token",
            "session", out=wire.Unsubscribed, query=wire.UnsubscribeQuery, errors=(403,),
            auth=False),
        api("/api/me", "PATCH", patch_me, "the caller's digest preference, e-mail address and profile",
            "session", out=wire.Preferences, body=wire.PreferencesIn),
        api("/api/me/preferences", "GET", get_preferences, "the caller's preferences", "session",
            out=wire.Preferences),
    ]
    # fmt: on

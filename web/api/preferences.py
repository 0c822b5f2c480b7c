"""A member's own settings: the digest e-mail on or off, and where it goes; and the digest's
one-click unsubscribe (RFC 8058), which needs no session but the link's signed token."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from persistence.models import MemberPreference, User, utcnow
from rooms.errors import BadRequest, Forbidden
from web import unsubscribe as links
from web.api.session import user_wire
from web.deps import caller, services
from web.responses import JSON, json_body

PREFERENCE_FIELDS = frozenset({"digest", "email"})
# Deliberately loose: one @, no spaces, a dot in the domain; the mail server judges the rest.
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


def preferences_wire(pref: MemberPreference | None) -> dict[str, Any]:
    return {
        "digest": pref.digest if pref is not None else True,
        "email": pref.email if pref is not None else None,
    }


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
    data = await json_body(request, max_bytes=2048)
    unknown = sorted(set(data) - PREFERENCE_FIELDS)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}")
    if not data:
        raise BadRequest("give 'digest' or 'email'")
    if "digest" in data and not isinstance(data["digest"], bool):
        raise BadRequest("field 'digest' must be true or false")
    email = data.get("email")
    if email is not None and (
        not isinstance(email, str) or len(email) > 254 or not EMAIL_RE.fullmatch(email)
    ):
        raise BadRequest("field 'email' must be an e-mail address or null")
    async with svc.db.write() as session:
        pref = await _preference(session, who.user.id)
        if "digest" in data:
            pref.digest = data["digest"]
        if "email" in data:
            pref.email = email
        pref.updated_at = utcnow()
        await session.flush()
        body = {"user": user_wire(who.user), "preferences": preferences_wire(pref)}
    return JSON(body)


async def unsubscribe(request: Request) -> Response:
    """`POST /api/digest/unsubscribe?token=…`: the link's member gets no more digests."""
    svc = services(request)
    token = request.query_params.get("token")
    if not token:
        raise BadRequest("give the token of the unsubscribe link")
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
    return [
        Route(links.PATH, unsubscribe, methods=["POST"]),
        Route("/api/me", patch_me, methods=["PATCH"]),
        Route("/api/me/preferences", get_preferences, methods=["GET"]),
    ]

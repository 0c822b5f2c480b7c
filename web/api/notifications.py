"""Notification levels per room, the VAPID key, and the caller's push subscriptions."""

from __future__ import annotations

import base64
import binascii
import html
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from persistence import notifications as repo
from persistence.models import User
from rooms.errors import BadRequest, Forbidden, NotFound
from rooms.notify import DEFAULT_LEVEL
from web import unsubscribe as links
from web.assets import REVALIDATE
from web.deps import Services, caller, readable_room, services
from web.openapi import api
from web.pushhttp import is_ip, local_name, public_address
from web.responses import JSON, body_as, query_as
from web.settings import Settings
from web.wire import notifications as wire
from web.wire.session import UnsubscribeQuery


async def put_level(request: Request) -> Response:
    """`PUT /api/rooms/{slug}/notifications` `{"level"}`: for a room the caller may read."""
    svc = services(request)
    who = await caller(request)
    room = await readable_room(request, who)
    level = (await body_as(request, wire.LevelIn, max_bytes=1024)).level
    async with svc.db.write() as session:
        await repo.set_level(session, who.user.id, room.id, level)
    if svc.notifications is not None:
        svc.notifications.level_set(room.slug, level)
    return JSON({"room": room.slug, "level": level})


async def get_levels(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.read() as session:
        levels = await repo.levels_of(session, who.user.id)
        mail = not await repo.mail_off(session, who.user.id)
    push = svc.notifications is not None and svc.notifications.push_on
    return JSON({"levels": levels, "default": DEFAULT_LEVEL, "push": push, "mail": mail})


async def set_mail(request: Request) -> Response:
    """`PATCH /api/me/notifications` `{"mail"}`: e-mail for what waits, on or off."""
    svc = services(request)
    who = await caller(request)
    mail = (await body_as(request, wire.MailIn, max_bytes=1024)).mail
    async with svc.db.write() as session:
        if mail:
            await repo.turn_mail_on(session, who.user.id)
        else:
            await repo.turn_mail_off(session, who.user.id)
    return JSON({"mail": mail})


def _push_on(svc: Services) -> None:
    if svc.notifications is None or not svc.notifications.push_on:
        raise NotFound("push notifications are off on this server")


async def push_key(request: Request) -> Response:
    svc = services(request)
    await caller(request)
    _push_on(svc)
    assert svc.notifications is not None
    await svc.notifications.ensure_key()
    return JSON({"key": svc.notifications.public_key})


async def subscribe(request: Request) -> Response:
    """`POST /api/me/push`: keep the browser's subscription (RFC 8030) for the caller."""
    svc = services(request)
    who = await caller(request)
    _push_on(svc)
    given = await body_as(request, wire.SubscriptionIn, max_bytes=4096)
    check_endpoint(given.endpoint, svc.settings)
    check_keys(given.keys.p256dh, given.keys.auth)
    async with svc.db.write() as session:
        await repo.subscribe(
            session, who.user.id, given.endpoint, given.keys.p256dh, given.keys.auth
        )
    return JSON({"endpoint": given.endpoint}, status_code=201)


async def unsubscribe(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, wire.EndpointIn, max_bytes=4096)
    async with svc.db.write() as session:
        await repo.unsubscribe(session, who.user.id, given.endpoint)
    return Response(status_code=204)


async def unsubscribe_mail(request: Request) -> Response:
    """`POST /api/notifications/unsubscribe?token=…`: the e-mail's one-click link (RFC 8058).

    The mail program posts it (one-click); the page of `GET` posts it as a form, and then
    gets a page in Dutch rather than JSON."""
    svc = services(request)
    token = query_as(request, UnsubscribeQuery).token
    form = "text/html" in request.headers.get("accept", "")
    user_id = links.user_of(token, svc.settings.secret_key, links.NOTIFY_PURPOSE)
    if user_id is None:
        if form:
            return _unsubscribe_page(403, "Deze afmeldlink klopt niet.", "")
        raise Forbidden("this unsubscribe link is not valid")
    async with svc.db.write() as session:
        if await session.get(User, user_id) is None:
            if form:
                return _unsubscribe_page(403, "Deze afmeldlink klopt niet.", "")
            raise Forbidden("this unsubscribe link is not valid")
        await repo.turn_mail_off(session, user_id)
    if form:
        text = (
            "Je bent afgemeld: je krijgt geen e-mail meer over wat op je wacht. "
            "Op je profielpagina zet je het weer aan."
        )
        return _unsubscribe_page(200, text, "")
    return JSON({"mail": False})


async def unsubscribe_mail_page(request: Request) -> Response:
    """`GET /api/notifications/unsubscribe?token=…`: the link as a person follows it.

    A GET changes nothing (mail scanners open links): the page asks to confirm with a
    button that posts the same address."""
    query = query_as(request, UnsubscribeQuery)
    action = f"{links.NOTIFY_PATH}?{urlencode({'token': query.token})}"
    return _unsubscribe_page(
        200, "Wil je geen e-mail meer krijgen over wat op je wacht in De Werkplaats?", action
    )


def _unsubscribe_page(status: int, text: str, action: str) -> Response:
    button = (
        f'<form method="post" action="{html.escape(action)}">'
        '<button type="submit">Afmelden</button></form>'
        if action
        else ""
    )
    body = (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Afmelden – Werkplaats</title></head><body><main>"
        f"<h1>Afmelden voor e-mail</h1><p>{html.escape(text)}</p>{button}"
        '<p><a href="/">Naar de Werkplaats</a></p></main></body></html>'
    )
    return HTMLResponse(
        body,
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def check_endpoint(endpoint: str, settings: Settings) -> None:
    """An https address of a public host: the server posts there, so no internal address
    (a member could otherwise aim the server at the intranet). Loopback http only in tests."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    loopback_test = settings.push_allow_loopback and parts.scheme == "http" and host == "127.0.0.1"
    if loopback_test:
        return
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise BadRequest("field 'endpoint' must be an https address")
    if local_name(host) or (is_ip(host) and not public_address(host)):
        raise BadRequest("field 'endpoint' must be a public address")


def check_keys(p256dh: str, auth: str) -> None:
    """The browser's P-256 point (on the curve) and its 16-byte auth secret."""
    try:
        point = _unb64(p256dh)
        secret = _unb64(auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, binascii.Error):
        raise BadRequest("field 'keys.p256dh' must be a P-256 public key") from None
    if len(point) != 65 or len(secret) != 16:
        raise BadRequest("fields 'keys': a 65-byte p256dh and a 16-byte auth")


def _unb64(text: str) -> bytes:
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


STATIC = Path(__file__).resolve().parent.parent / "static"


async def service_worker(request: Request) -> Response:
    """`/sw.js` at the root, so its scope is the whole client; always revalidated, so an
    upgrade reaches every browser at its next visit."""
    return FileResponse(
        STATIC / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": REVALIDATE, "Service-Worker-Allowed": "/"},
    )


async def manifest(request: Request) -> Response:
    """The web app manifest (installable client), with its registered media type."""
    return FileResponse(
        STATIC / "manifest.webmanifest",
        media_type="application/manifest+json",
        headers={"Cache-Control": REVALIDATE},
    )


def routes() -> list[BaseRoute]:
    tag = "notifications"
    # fmt: off
    return [
        Route("/sw.js", service_worker),
        Route("/manifest.webmanifest", manifest),
        api("/api/rooms/{slug}/notifications", "PUT", put_level,
            "the caller's notification level for a room (default mentions)", tag,
            out=wire.RoomLevel, body=wire.LevelIn, errors=(403, 404)),
        api("/api/me/notifications", "GET", get_levels,
            "the caller's notification levels by room, and whether push is on", tag,
            out=wire.Levels),
        api("/api/push/key", "GET", push_key, "the server's VAPID public key (RFC 8292)", tag,
            out=wire.PushKey, errors=(404,)),
        api("/api/me/push", "POST", subscribe, "keep a Web Push subscription for the caller",
            tag, out=wire.Subscribed, status=201, body=wire.SubscriptionIn, errors=(404,)),
        api(links.NOTIFY_PATH, "GET", unsubscribe_mail_page,
            "the notification e-mail's unsubscribe link: a page that asks to confirm", tag,
            query=UnsubscribeQuery, also=(("text/html", {"type": "string"}),), auth=False),
        api(links.NOTIFY_PATH, "POST", unsubscribe_mail,
            "one-click unsubscribe from the notification e-mail (RFC 8058)", tag,
            out=wire.MailOff, query=UnsubscribeQuery, errors=(403,), auth=False),
        api("/api/me/push", "DELETE", unsubscribe, "forget a Web Push subscription", tag,
            status=204, body=wire.EndpointIn),
        api("/api/me/notifications", "PATCH", set_mail,
            "turn the notification e-mail on or off", tag, out=wire.MailOff, body=wire.MailIn),
    ]
    # fmt: on

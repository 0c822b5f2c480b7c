"""Single sign-on pages: `/auth/oidc/{provider}/login` and its callback (web/oidc.py).

The login stores the flow's state, nonce and PKCE verifier as a one-time token (valid ten
minutes, on every process) and binds it to the browser with a cookie; the callback takes
that token once (a replayed state finds nothing), checks the cookie, redeems the code, and
ends in a session as a login does, or on a short Dutch page saying why not.
"""

from __future__ import annotations

import hmac
import html
import logging
from datetime import timedelta
from typing import Any

from authlib.common.security import generate_token
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from persistence import accounts as repo
from persistence.models import utcnow
from rooms.errors import Forbidden
from web.actions import accounts as acts
from web.api.common import public_base, set_session_cookie
from web.auth import new_token, session_expires_at, token_hash
from web.deps import Services, client_address, services
from web.oidc import OidcClient, SignOnError
from web.openapi import api
from web.responses import JSON
from web.settings import OidcProvider
from web.wire.accounts import SsoProviders

log = logging.getLogger("werkplaats.oidc")

OIDC = "oidc"
# A session made by single sign-on, kept under the session's token hash until it expires:
# its provider and ID token, for the logout at the provider (RP-Initiated Logout 1.0).
SIGNED_ON = "oidc_logout"
# The response header of `DELETE /api/session` that names the provider's logout address.
LOGOUT_HEADER = "Logout-Location"
STATE_COOKIE = "werkplaats_oidc"
STATE_MINUTES = 10
COOKIE_PATH = "/auth/oidc/"


def oidc_client(svc: Services) -> OidcClient:
    """The process's client, made on first use."""
    client: OidcClient | None = svc.extra.get(OIDC)
    if client is None:
        client = svc.extra[OIDC] = OidcClient(svc.settings.oidc_providers)
    return client


def _provider(request: Request) -> tuple[Services, OidcClient, OidcProvider]:
    svc = services(request)
    client = oidc_client(svc)
    provider = client.providers.get(str(request.path_params["provider"]))
    if provider is None:
        raise _Refused(404, "Deze manier van inloggen kennen we niet.")
    return svc, client, provider


def _redirect_uri(request: Request, svc: Services, provider: OidcProvider) -> str:
    return f"{public_base(request, svc.settings)}/auth/oidc/{provider.name}/callback"


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _page(status: int, text: str) -> Response:
    body = (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Inloggen mislukt – Werkplaats</title></head><body><main>"
        f"<h1>Inloggen is niet gelukt</h1><p>{html.escape(text)}</p>"
        '<p><a href="/">Terug naar de Werkplaats</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def login(request: Request) -> Response:
    try:
        svc, client, provider = _provider(request)
        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        url = await client.authorization_url(
            provider, _redirect_uri(request, svc, provider), state, nonce, verifier
        )
    except _Refused as exc:
        return _page(exc.status, exc.text)
    except SignOnError as exc:
        log.warning("sign-on with %s cannot start: %s", request.path_params["provider"], exc)
        return _page(502, "De inlogdienst is nu niet bereikbaar. Probeer het later opnieuw.")
    async with svc.db.write() as session:
        await repo.add_token(
            session,
            OIDC,
            token_hash(state, svc.settings.secret_key),
            utcnow() + timedelta(minutes=STATE_MINUTES),
            data={"provider": provider.name, "nonce": nonce, "verifier": verifier},
        )
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=STATE_MINUTES * 60,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=COOKIE_PATH,
    )
    return response


async def callback(request: Request) -> Response:
    try:
        svc, client, provider = _provider(request)
        response = await _signed_on(request, svc, client, provider)
    except _Refused as exc:
        response = _page(exc.status, exc.text)
    response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")
    return response


async def _signed_on(
    request: Request, svc: Services, client: OidcClient, provider: OidcProvider
) -> Response:
    query = request.query_params
    state, code = query.get("state", ""), query.get("code", "")
    if query.get("error") or not state or not code:
        raise _Refused(403, "Het inloggen is afgebroken of geweigerd.")
    # The browser that started the flow must be the one finishing it (no login CSRF).
    if not hmac.compare_digest(request.cookies.get(STATE_COOKIE, ""), state):
        raise _Refused(403, "Begin het inloggen opnieuw, in dit venster.")
    async with svc.db.write() as session:
        flow = await repo.take_token(session, OIDC, token_hash(state, svc.settings.secret_key))
    if flow is None or flow.data.get("provider") != provider.name:
        raise _Refused(410, "Deze inlogpoging is verlopen of al gebruikt. Begin opnieuw.")
    try:
        who = await client.identity(
            provider,
            _redirect_uri(request, svc, provider),
            code,
            str(flow.data["verifier"]),
            str(flow.data["nonce"]),
        )
    except SignOnError as exc:
        log.warning("sign-on with %s refused: %s", provider.name, exc)
        raise _Refused(403, "De inlogdienst gaf geen geldig antwoord.") from None
    if who.email is None or not who.email_verified:
        raise _Refused(403, "De inlogdienst heeft uw e-mailadres niet bevestigd.")
    token = new_token()
    try:
        user = await acts.sign_on(
            svc.db,
            provider.name,
            who.email,
            who.name,
            provider.signup_domains,
            address=client_address(request),
            session_hash=token_hash(token, svc.settings.secret_key),
            session_expires=session_expires_at(svc.settings),
        )
    except Forbidden as exc:
        log.info("sign-on with %s refused: %s", provider.name, exc.message)
        raise _Refused(
            403, "Er is geen account of uitnodiging voor dit e-mailadres. Vraag een beheerder."
        ) from None
    async with svc.db.write() as session:
        await repo.add_token(
            session,
            SIGNED_ON,
            token_hash(token, svc.settings.secret_key),
            session_expires_at(svc.settings),
            user_id=user.id,
            data={"provider": provider.name, "id_token": who.id_token},
        )
    log.info("sign-on with %s: %s", provider.name, user.username)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, request, token)
    return response


async def take_signed_on(session: AsyncSession, session_hash: str) -> dict[str, Any] | None:
    """At logout, inside its transaction: the provider and ID token of a session made by
    single sign-on (taken: a second logout finds nothing), else None."""
    found = await repo.take_token(session, SIGNED_ON, session_hash)
    return dict(found.data) if found is not None else None


async def provider_logout_url(
    request: Request, svc: Services, signed_on: dict[str, Any]
) -> str | None:
    """The provider's end_session_endpoint with id_token_hint, post_logout_redirect_uri (the
    client's start page) and state; None when the provider offers none or cannot be read."""
    provider = next(
        (p for p in svc.settings.oidc_providers if p.name == signed_on.get("provider")), None
    )
    if provider is None:
        return None
    try:
        return await oidc_client(svc).logout_url(
            provider,
            str(signed_on.get("id_token") or ""),
            f"{public_base(request, svc.settings)}/",
            generate_token(32),
        )
    except SignOnError as exc:
        log.warning("logout at %s not possible: %s", provider.name, exc)
        return None


async def providers(request: Request) -> Response:
    """`GET /api/sso`: the login buttons (no session needed)."""
    svc = services(request)
    found = [
        {
            "name": p.name,
            "display_name": p.display_name or p.name,
            "login_url": f"/auth/oidc/{p.name}/login",
        }
        for p in svc.settings.oidc_providers
    ]
    return JSON({"providers": found})


def routes() -> list[BaseRoute]:
    return [
        api(
            "/api/sso",
            "GET",
            providers,
            "the single sign-on providers (login buttons)",
            "session",
            out=SsoProviders,
            auth=False,
        ),
        Route("/auth/oidc/{provider}/login", login, methods=["GET"]),
        Route("/auth/oidc/{provider}/callback", callback, methods=["GET"]),
    ]

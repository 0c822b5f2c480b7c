"""OpenID Connect single sign-on: the authorization code flow with PKCE (RFC 7636).

Authlib builds the authorization request and the token request; httpx carries them;
joserfc (Authlib's JOSE library) checks the ID token: its signature against the provider's
published keys (only asymmetric algorithms, never `none`), and its issuer, audience,
authorized party, nonce, expiry and issue time. The provider's discovery document must
name the configured issuer exactly. What comes back is an `Identity`; who may get in with
it is decided by `web.actions.accounts.sign_on`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from web.settings import OidcProvider

SCOPE = "openid email profile"
# Asymmetric only: a symmetric (HS*) token would be signed with our own client secret.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
# Clock difference tolerated between us and the provider, in seconds.
LEEWAY = 60
# Discovery documents and keys are read again after this long (or for an unknown key id).
CACHE_SECONDS = 3600
HTTP_TIMEOUT = 10.0
# Answers from the provider larger than this are refused.
MAX_ANSWER_BYTES = 256 * 1024


class SignOnError(Exception):
    """The sign-on cannot go on; the message says why (for the log and the page)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says signed in."""

    subject: str
    email: str | None
    email_verified: bool
    name: str
    # Kept for the logout at the provider (RP-Initiated Logout's id_token_hint).
    id_token: str = ""


@dataclass(slots=True)
class _Discovered:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    keys: KeySet
    fetched_at: float
    # OpenID Connect RP-Initiated Logout 1.0: where the provider ends its own session.
    end_session_endpoint: str | None = None


def validate_id_token(
    id_token: str, keys: KeySet, issuer: str, client_id: str, nonce: str, now: int | None = None
) -> dict[str, Any]:
    """The ID token's claims, once its signature and claims are right; else `SignOnError`."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
        claims: dict[str, Any] = dict(token.claims)
        jwt.JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
    except (JoseError, ValueError) as exc:
        raise SignOnError(f"the ID token was refused: {exc}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    # OpenID Connect Core 3.1.3.7: with more audiences, `azp` must name us.
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SignOnError("the ID token was refused: azp is not this client")
    return claims


class OidcClient:
    """The providers of the settings, with their discovery documents and keys cached."""

    def __init__(self, providers: tuple[OidcProvider, ...]) -> None:
        self.providers = {p.name: p for p in providers}
        self._discovered: dict[str, _Discovered] = {}

    async def _get_json(self, http: httpx.AsyncClient, url: str, **kw: Any) -> dict[str, Any]:
        response = await http.get(url, **kw)
        return _json(response, url)

    async def _discover(self, provider: OidcProvider, *, fresh: bool = False) -> _Discovered:
        known = self._discovered.get(provider.name)
        if known is not None and not fresh and time.monotonic() - known.fetched_at < CACHE_SECONDS:
            return known
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        async with _http() as http:
            doc = await self._get_json(http, url)
            if doc.get("issuer") != provider.issuer:
                raise SignOnError(
                    f"{url} names issuer {doc.get('issuer')!r}, not the configured one"
                )
            try:
                published: Any = await self._get_json(http, str(doc["jwks_uri"]))
                keys = KeySet.import_key_set(published)
                found = _Discovered(
                    str(doc["authorization_endpoint"]),
                    str(doc["token_endpoint"]),
                    str(doc["jwks_uri"]),
                    doc.get("userinfo_endpoint"),
                    keys,
                    time.monotonic(),
                    _https_or_loopback(doc.get("end_session_endpoint")),
                )
            except (KeyError, ValueError, JoseError) as exc:
                raise SignOnError(f"{url}: incomplete discovery or keys: {exc}") from None
        self._discovered[provider.name] = found
        return found

    async def authorization_url(
        self, provider: OidcProvider, redirect_uri: str, state: str, nonce: str, verifier: str
    ) -> str:
        """Where to send the browser to sign in at the provider."""
        found = await self._discover(provider)
        url: str = prepare_grant_uri(
            found.authorization_endpoint,
            provider.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return url

    async def identity(
        self, provider: OidcProvider, redirect_uri: str, code: str, verifier: str, nonce: str
    ) -> Identity:
        """Redeem the code (with the PKCE verifier) and check the ID token it brings."""
        found = await self._discover(provider)
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=verifier
        )
        async with _http() as http:
            response = await http.post(
                found.token_endpoint,
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=(provider.client_id, provider.client_secret),
            )
            tokens = _json(response, "the token endpoint")
            id_token = tokens.get("id_token")
            if not isinstance(id_token, str):
                raise SignOnError("the token endpoint gave no ID token")
            claims = await self._claims(provider, found, id_token, nonce)
            if "email" not in claims and found.userinfo_endpoint and tokens.get("access_token"):
                info = await self._get_json(
                    http,
                    found.userinfo_endpoint,
                    headers={"Authorization": f"Bearer {tokens['access_token']}"},
                )
                if info.get("sub") != claims["sub"]:
                    raise SignOnError("the userinfo answer is about someone else")
                claims = {**info, **claims}
        email = claims.get("email")
        return Identity(
            subject=str(claims["sub"]),
            email=email.strip().lower() if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
            name=str(claims.get("name") or ""),
            id_token=id_token,
        )

    async def logout_url(
        self, provider: OidcProvider, id_token: str, post_logout_redirect_uri: str, state: str
    ) -> str | None:
        """Where to send the browser so the provider ends its session too (OpenID Connect
        RP-Initiated Logout 1.0), or None when the provider offers no end_session_endpoint."""
        found = await self._discover(provider)
        if found.end_session_endpoint is None:
            return None
        query = {
            "client_id": provider.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "state": state,
        }
        if id_token:
            query["id_token_hint"] = id_token
        glue = "&" if urlsplit(found.end_session_endpoint).query else "?"
        return f"{found.end_session_endpoint}{glue}{urlencode(query)}"

    async def _claims(
        self, provider: OidcProvider, found: _Discovered, id_token: str, nonce: str
    ) -> dict[str, Any]:
        try:
            return validate_id_token(
                id_token, found.keys, provider.issuer, provider.client_id, nonce
            )
        except SignOnError:
            # The provider may have rotated its keys since we read them: read them once more.
            fresh = await self._discover(provider, fresh=True)
            return validate_id_token(
                id_token, fresh.keys, provider.issuer, provider.client_id, nonce
            )


def _https_or_loopback(url: object) -> str | None:
    """The provider's end_session_endpoint when it is an https address (or loopback http,
    as a provider in the tests has): the browser is sent there."""
    if not isinstance(url, str) or len(url) > 2048:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return url
    return None


def _http() -> httpx.AsyncClient:
    # The provider's answers are followed to no other address; no redirects.
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False)


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise SignOnError(f"{what} answered {response.status_code}")
    if len(response.content) > MAX_ANSWER_BYTES:
        raise SignOnError(f"{what} answered with too much")
    try:
        found = response.json()
    except ValueError:
        raise SignOnError(f"{what} answered no JSON") from None
    if not isinstance(found, dict):
        raise SignOnError(f"{what} answered no JSON object")
    return found

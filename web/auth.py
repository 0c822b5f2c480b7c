"""Who is calling: session tokens (cookie or Bearer), Origin checks, and login."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from persistence import handshake
from persistence.db import Database
from persistence.models import Member, utcnow
from rooms.errors import Forbidden, Unauthenticated
from rooms.model import Actor
from web.settings import Settings

COOKIE_NAME = "werkplaats_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str, secret_key: str) -> str:
    """What the database stores: a keyed hash, so a leaked table holds no usable token."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    user: Member
    actor: Actor
    token_hash: str
    via_cookie: bool
    expires_at: datetime


def presented_token(conn: HTTPConnection) -> tuple[str | None, bool]:
    """The token from `Authorization: Bearer`, else from the cookie; and whether it was the cookie."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = conn.cookies.get(COOKIE_NAME)
    return (cookie, True) if cookie else (None, False)


def _presented_digest(conn: HTTPConnection, settings: Settings) -> tuple[str, bool]:
    token, via_cookie = presented_token(conn)
    if not token or len(token) > 256:
        raise Unauthenticated("log in first")
    return token_hash(token, settings.secret_key), via_cookie


def _caller(found: handshake.Login | None, digest: str, via_cookie: bool) -> Caller:
    if found is None:
        raise Unauthenticated("your session is unknown, expired or ended")
    return Caller(found.user, found.actor, digest, via_cookie, found.expires_at)


async def authenticate(conn: HTTPConnection, db: Database, settings: Settings) -> Caller:
    digest, via_cookie = _presented_digest(conn, settings)
    # One statement: the session (unrevoked, unexpired now), its user and their permissions.
    found = await handshake.run(db, handshake.read_login, digest, utcnow())
    return _caller(found, digest, via_cookie)


async def authenticate_arrival(
    conn: HTTPConnection, db: Database, settings: Settings
) -> tuple[Caller, list[handshake.RoomListing]]:
    """`authenticate` for a WebSocket upgrade, with `hello`'s room list read in the same
    call (on PostgreSQL shared with the upgrades of the same moment)."""
    digest, via_cookie = _presented_digest(conn, settings)
    meetings = db.part(handshake.MeetingsRead)
    arrived = await handshake.arrival(db, digest, meetings)
    found, rooms = arrived if arrived is not None else (None, [])
    return _caller(found, digest, via_cookie), rooms


def own_origins(conn: HTTPConnection) -> tuple[str, ...]:
    """The origin of the socket this server listens on (and `localhost` for a loopback
    address): never the client's Host header, which anyone can set."""
    server = conn.scope.get("server")
    if not server or server[1] is None:
        return ()
    host, port = server
    scheme = conn.url.scheme.replace("ws", "http")
    default = (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    suffix = "" if default else f":{port}"
    hosts = [f"[{host}]" if ":" in host else host]
    if host in ("127.0.0.1", "::1"):
        hosts.append("localhost")
    return tuple(f"{scheme}://{h}{suffix}" for h in hosts)


def origin_allowed(origin: str, conn: HTTPConnection, settings: Settings) -> bool:
    """Exact match against the allowed origins (default: the public URL's, else the address
    the server listens on)."""
    normalised = origin.rstrip("/")
    parts = urlsplit(normalised)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return normalised in settings.origins(own_origins(conn))


def check_origin(conn: HTTPConnection, settings: Settings) -> None:
    """Refuse a browser request whose Origin is not allowed.

    A request without Origin comes from a non-browser client (browsers send it on every
    state-changing fetch and on WebSocket upgrades), unless Sec-Fetch-Site says cross-site.
    """
    origin = conn.headers.get("origin")
    if origin is None:
        if conn.headers.get("sec-fetch-site") == "cross-site":
            raise Forbidden("cross-site request without an Origin")
        return
    if not origin_allowed(origin, conn, settings):
        raise Forbidden("this Origin is not allowed")


def session_expires_at(settings: Settings) -> datetime:
    return utcnow() + timedelta(days=settings.session_days)

"""Device cookies (OWASP): a browser that logged in as a user before is trusted for that user.

A trusted device skips the per-username progressive delay, so an attacker guessing one
user's password from many addresses slows down everyone but the owner's own devices. The
cookie names the user and is signed with the secret key; it grants nothing by itself (the
password is still checked), and without a secret key no device is trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import HTTPConnection
from starlette.responses import Response

from persistence import wallclock
from web.settings import Settings

DEVICE_COOKIE = "werkplaats_device"
# As long as a person keeps a laptop: a device unused for half a year is a stranger again.
DEVICE_DAYS = 180


def _sign(secret: str, username: str, issued: int) -> str:
    msg = f"device\0{username}\0{issued}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def trusted_device(conn: HTTPConnection, username: str, settings: Settings) -> bool:
    """Whether the request carries a valid device cookie for `username`."""
    raw = conn.cookies.get(DEVICE_COOKIE)
    if not raw or not settings.secret_key:
        return False
    try:
        name_b64, issued_s, mac = raw.split(".")
        name = base64.urlsafe_b64decode(name_b64.encode()).decode()
        issued = int(issued_s)
    except (ValueError, UnicodeDecodeError):
        return False
    if name != username or wallclock.now() - issued > DEVICE_DAYS * 86400:
        return False
    return hmac.compare_digest(mac, _sign(settings.secret_key, name, issued))


def remember_device(
    response: Response, conn: HTTPConnection, username: str, settings: Settings
) -> None:
    """Mark this browser as a device of `username` (after a successful login)."""
    if not settings.secret_key:
        return
    issued = int(wallclock.now())
    name_b64 = base64.urlsafe_b64encode(username.encode()).decode()
    response.set_cookie(
        DEVICE_COOKIE,
        f"{name_b64}.{issued}.{_sign(settings.secret_key, username, issued)}",
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="strict",
        secure=conn.url.scheme == "https",
        path="/api/session",
    )

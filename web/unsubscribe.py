"""The digest's one-click unsubscribe links (RFC 8058): a per-member token signed with the secret key.

The token is `<user id>.<HMAC-SHA256 of the id under WERKPLAATS_SECRET_KEY>`: it turns that
member's digest off without a session, never expires, and stops working when the key
changes. Without a secret key no token is made and none is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PATH = "/api/digest/unsubscribe"
# Kept apart from every other use of the key (session-token hashes): a token here is no
# valid value anywhere else.
PURPOSE = b"werkplaats digest unsubscribe\x00"
# The notification e-mail's link (web/notifymail.py): its own path and purpose, so the one
# link never turns the other mail off.
NOTIFY_PATH = "/api/notifications/unsubscribe"
NOTIFY_PURPOSE = b"werkplaats notification unsubscribe\x00"
MAX_TOKEN = 64


def _signature(user_id: int, secret_key: str, purpose: bytes) -> str:
    mac = hmac.new(secret_key.encode(), purpose + str(user_id).encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def unsubscribe_token(user_id: int, secret_key: str, purpose: bytes = PURPOSE) -> str:
    """The member's unsubscribe token; the secret key must be set."""
    if not secret_key:
        raise ValueError("an unsubscribe token needs WERKPLAATS_SECRET_KEY")
    return f"{user_id}.{_signature(user_id, secret_key, purpose)}"


def unsubscribe_url(
    base_url: str, user_id: int, secret_key: str, path: str = PATH, purpose: bytes = PURPOSE
) -> str:
    """The one-click address that turns the member's digest (or other mail) off."""
    token = unsubscribe_token(user_id, secret_key, purpose)
    return f"{base_url.rstrip('/')}{path}?token={token}"


def user_of(token: str, secret_key: str, purpose: bytes = PURPOSE) -> int | None:
    """The user id a genuine token was made for; None for anything else."""
    if not secret_key or len(token) > MAX_TOKEN:
        return None
    raw_id, _, signature = token.partition(".")
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 18:
        return None
    user_id = int(raw_id)
    if not hmac.compare_digest(
        signature.encode(), _signature(user_id, secret_key, purpose).encode()
    ):
        return None
    return user_id

"""The ID token checks: signature, issuer, audience, authorized party, nonce, expiry."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from web.oidc import SignOnError, validate_id_token

ISSUER = "https://login.example.nl"
CLIENT = "werkplaats"
NONCE = "n-0123456789"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
KEYS = KeySet.import_key_set({"keys": [KEY.as_dict(private=False)]})


def token(key: Any = KEY, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    values = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "s1",
        "nonce": NONCE,
        "iat": now,
        "exp": now + 300,
    }
    values.update(claims)
    return jwt.encode(
        {"alg": alg, "kid": "k1"}, {k: v for k, v in values.items() if v is not None}, key
    )


def test_a_right_token_passes() -> None:
    """Signed by the provider's key, for us, with our nonce: its claims."""
    assert validate_id_token(token(), KEYS, ISSUER, CLIENT, NONCE)["sub"] == "s1"


@pytest.mark.parametrize(
    ("why", "made"),
    [
        ("bad signature", lambda: token(RSAKey.generate_key(2048, parameters={"kid": "k1"}))),
        ("wrong audience", lambda: token(aud="someone-else")),
        ("wrong issuer", lambda: token(iss="https://evil.example")),
        ("wrong nonce", lambda: token(nonce="replayed")),
        ("no nonce", lambda: token(nonce=None)),
        ("expired", lambda: token(exp=int(time.time()) - 3600)),
        ("another party", lambda: token(aud=[CLIENT, "other"], azp="other")),
        ("symmetric", lambda: token(OctKey.import_key("x" * 32), alg="HS256")),
    ],
)
def test_a_wrong_token_is_refused(why: str, made: Any) -> None:
    """Each of these is refused with SignOnError."""
    with pytest.raises(SignOnError):
        validate_id_token(made(), KEYS, ISSUER, CLIENT, NONCE)


def test_an_unsigned_token_is_refused() -> None:
    """`alg: none` is never accepted."""
    head = "eyJhbGciOiJub25lIn0"  # {"alg":"none"}
    body = token().split(".")[1]
    with pytest.raises(SignOnError):
        validate_id_token(f"{head}.{body}.", KEYS, ISSUER, CLIENT, NONCE)

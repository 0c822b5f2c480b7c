"""A real OpenID provider (npm oidc-provider) on loopback, and a server that trusts it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port, make_settings, require, running_server
from web.settings import OidcProvider

PROVIDER_DIR = Path(__file__).parent / "provider"
CLIENT_ID = "werkplaats-test"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
# The provider's accounts: login name → claims.
ACCOUNTS = {
    "ann-sso": {"email": "ann@example.nl", "email_verified": True, "name": "Ann Aalders"},
    "unverified": {"email": "ann@example.nl", "email_verified": False, "name": "Ann?"},
    "stranger": {"email": "stranger@example.nl", "email_verified": True, "name": "Vreemde"},
    "invited": {"email": "nieuw@example.nl", "email_verified": True, "name": "Nieuw Lid"},
    "amy-sso": {"email": "amy@example.nl", "email_verified": True, "name": "Amy Arends"},
}


@dataclass(frozen=True)
class Provider:
    """A running provider, and the port the test server must take for its callback."""

    issuer: str
    server_port: int


@dataclass(frozen=True)
class Sso:
    """The running provider and the Werkplaats server configured for it."""

    issuer: str
    base: str


@pytest.fixture
def provider_port() -> int:
    return free_port()


@pytest.fixture
def provider(provider_port: int) -> Iterator[Provider]:
    """A provider on loopback whose one client redirects to the test server's callback."""
    require(
        "the OpenID provider's packages",
        (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir(),
        "run .ci/services.d/oidc.sh",
    )
    server_port = free_port()
    config = {
        "port": provider_port,
        "server_port": server_port,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"http://127.0.0.1:{server_port}/auth/oidc/test/callback"],
                "post_logout_redirect_uris": [f"http://127.0.0.1:{server_port}/"],
            }
        ],
        "accounts": ACCOUNTS,
    }
    proc = subprocess.Popen(
        ["node", "server.mjs"],
        cwd=PROVIDER_DIR,
        env={**os.environ, "OIDC_TEST_CONFIG": json.dumps(config)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening "), f"the OpenID provider did not start: {line!r}"
        yield Provider(line.removeprefix("listening "), server_port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def sso(provider: Provider, db_url: str) -> AsyncIterator[Sso]:
    """A Werkplaats server with the provider configured as `test`."""
    base = f"http://127.0.0.1:{provider.server_port}"
    settings = make_settings(
        db_url,
        public_url=base,
        secret_key=os.environ["WERKPLAATS_SECRET_KEY"],
        oidc_providers=(
            OidcProvider(
                name="test",
                issuer=provider.issuer,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                display_name="Testaccount",
            ),
        ),
    )
    async with running_server(settings, port=provider.server_port) as running:
        yield Sso(provider.issuer, running)

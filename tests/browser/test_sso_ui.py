"""Single sign-on in chromium: the login button, the provider's form, back in the Werkplaats."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import DEFAULT_TIMEOUT_MS, WERKPLAATS, Tab
from tests.browser.ui import assert_accessible, assert_clean
from tests.helpers import ServerProcess
from tests.oidc.conftest import CLIENT_ID, CLIENT_SECRET, Provider, provider, provider_port  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def sso_server(provider: Provider, tmp_path: Path) -> Iterator[ServerProcess]:  # noqa: F811
    """`werkplaats serve` with the demo community and the provider configured as `test`."""
    base = f"http://127.0.0.1:{provider.server_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WERKPLAATS_")}
    env |= {
        "WERKPLAATS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sso.db'}",
        "WERKPLAATS_SECRET_KEY": "sso-browser-test-secret-0123456789",
        "WERKPLAATS_PUBLIC_URL": base,
        "WERKPLAATS_TEST_LOG_DIR": str(tmp_path),
        "WERKPLAATS_OIDC_PROVIDERS": json.dumps(
            [
                {
                    "name": "test",
                    "issuer": provider.issuer,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "display_name": "Testaccount",
                }
            ]
        ),
    }
    demo = subprocess.run(
        [WERKPLAATS, "demo"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert demo.returncode == 0, demo.stderr
    server = ServerProcess(env, port=provider.server_port)
    # Only these settings: none of the test process's own WERKPLAATS_* variables.
    server.env = env
    server.start()
    try:
        server.wait_ready(45)
        yield server
    finally:
        server.stop()


def test_sign_on_through_the_provider(
    browser: Any, sso_server: ServerProcess, axe_source: Path
) -> None:
    """An invited address signs on: login button, the provider's form, and into its area;
    logging out ends the provider's session too, so the next sign-on shows its form."""
    with httpx.Client(base_url=sso_server.url, timeout=10) as http:
        token = http.post(
            "/api/session", json={"username": "beheer", "password": "werkplaats-admin-2026"}
        ).json()["token"]
        r = http.post(
            "/api/invitations",
            json={"email": "nieuw@example.nl", "areas": ["veenweiden-aldeboarn"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
    context = browser.new_context(base_url=sso_server.url, locale="nl-NL")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        tab = Tab(page, context, [])
        page.on("pageerror", lambda exc: tab.problems.append(f"page error: {exc}"))
        page.goto("/")
        button = page.get_by_role("link", name="Inloggen met Testaccount")
        button.wait_for()
        assert_accessible(tab, axe_source, "login with single sign-on")
        button.click()
        page.locator("input[name=login]").fill("invited")
        page.locator("input[name=password]").fill("wat-dan-ook")
        page.locator("button[type=submit]").click()
        page.locator("#topnav").wait_for(state="visible")
        page.locator('#sidebar a[data-slug="veenweiden-aldeboarn"]').first.wait_for()
        assert "Nieuw Lid" in page.locator("#whoami").inner_text()

        # Logging out ends the provider's session too (RP-Initiated Logout): its page asks,
        # then sends the browser back to the start page.
        page.get_by_role("button", name="Uitloggen").click()
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(f"{sso_server.url}/?state=*")
        button = page.get_by_role("link", name="Inloggen met Testaccount")
        button.click()
        # Signed out at the provider: its form again, not straight back in.
        page.locator("input[name=login]").wait_for()
        assert not page.url.startswith(sso_server.url)
        assert_clean(tab)
    finally:
        context.close()

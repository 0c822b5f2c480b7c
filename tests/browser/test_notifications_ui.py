"""Being reached, in chromium: the service worker registers (scope /), the manifest makes the
client installable, the tab title counts unread mentions, the room's level menu saves, the
"Meldingen aan" button subscribes this browser, and a push shows a notification."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.browser.conftest import Server, Tab
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    login,
    open_room,
    post_many,
    shot,
)

pytestmark = pytest.mark.browser

AREA = "veenweiden-aldeboarn"


def fake_push_manager(endpoint: str) -> str:
    """An init script: PushManager answers with a subscription of real P-256 keys.

    Chromium's own push service is Google's, outside this machine: the test stands in for
    it, as the server's push tests stand in for the browser.
    """
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    keys = {"p256dh": b64(point), "auth": b64(os.urandom(16))}
    return f"""(() => {{
        let current = null;
        const make = () => ({{
            endpoint: {json.dumps(endpoint)},
            toJSON() {{ return {{endpoint: this.endpoint, keys: {json.dumps(keys)}}}; }},
            async unsubscribe() {{ current = null; return true; }},
        }});
        PushManager.prototype.subscribe = async function (options) {{
            if (!(options.applicationServerKey instanceof Uint8Array)
                || options.applicationServerKey.length !== 65) throw new Error('bad key');
            window.__pushKeyLength = options.applicationServerKey.length;
            current = make();
            return current;
        }};
        PushManager.prototype.getSubscription = async function () {{ return current; }};
    }})();"""


def test_push_button_level_menu_title_and_worker(
    browser: object, open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """The whole notification surface of the client, axe-clean."""
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=server.base_url, locale="nl-NL", timezone_id="Europe/Amsterdam"
    )
    try:
        context.grant_permissions(["notifications"], origin=server.base_url)
        # A reserved name that never resolves: nothing is pushed in this test anyway.
        context.add_init_script(fake_push_manager("https://push.example.invalid/sub/1"))
        tab = open_tab(context=context)
        page = tab.page
        login(tab, "anna", server.logins["anna"])

        scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
        assert scope == f"{server.base_url}/"
        manifest = page.evaluate(
            """async () => {
                const link = document.querySelector('link[rel="manifest"]');
                const res = await fetch(link.href);
                return {type: res.headers.get('content-type'), body: await res.json()};
            }"""
        )
        assert manifest["type"] == "application/manifest+json"
        assert manifest["body"]["lang"] == "nl" and manifest["body"]["display"] == "standalone"
        assert {i["sizes"] for i in manifest["body"]["icons"]} >= {"192x192", "512x512"}

        post_many(server, "marieke", AREA, ["@anna kijk je even mee?"])
        page.wait_for_function("() => document.title.startsWith('(1) ')")
        assert "favicon-dot" in page.locator('link[rel="icon"]').get_attribute("href")

        open_room(tab, AREA)
        menu = page.get_by_label("Meldingen", exact=True)
        assert menu.input_value() == "mentions"
        with page.expect_response(
            lambda r: r.url.endswith(f"/api/rooms/{AREA}/notifications")
        ) as put:
            menu.select_option("all")
        assert put.value.status == 200

        button = page.get_by_role("button", name="Meldingen aan")
        with page.expect_response(lambda r: r.url.endswith("/api/me/push")) as post:
            button.click()
        assert post.value.status == 201
        page.get_by_role("button", name="Meldingen uit").wait_for()
        page.locator("#live").filter(has_text="Meldingen staan aan").wait_for()
        levels = page.evaluate("async () => (await fetch('/api/me/notifications')).json()")
        assert levels["levels"][AREA] == "all"

        # A push as the push service delivers it: the worker shows it as a notification.
        cdp = context.new_cdp_session(page)
        registration = page.evaluate(
            "async () => (await navigator.serviceWorker.ready).active.scriptURL"
        )
        assert registration.endswith("/sw.js")
        cdp.send("ServiceWorker.enable")
        shown = _deliver_push(page, cdp, server.base_url)
        assert shown == [{"title": "Marieke noemde je", "body": "kijk je even mee?"}]

        assert_accessible(tab, axe_source, "room with notification menu")
        shot(tab, "notifications-room")
        with page.expect_response(lambda r: r.url.endswith("/api/me/push")) as delete:
            page.get_by_role("button", name="Meldingen uit").click()
        assert delete.value.status == 204
        assert_clean(tab)
    finally:
        context.close()


def _deliver_push(page: object, cdp: object, origin: str) -> list[dict[str, str]]:
    """Hand the worker a push through DevTools, then list the notifications it showed."""
    registrations: list[dict[str, str]] = []
    cdp.on(  # type: ignore[attr-defined]
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    ids = _poll(
        page, lambda: [r["registrationId"] for r in registrations if r["scopeURL"] == f"{origin}/"]
    )
    data = json.dumps({"title": "Marieke noemde je", "body": "kijk je even mee?", "url": "/"})
    cdp.send(  # type: ignore[attr-defined]
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": ids[0], "data": data},
    )
    found: list[dict[str, str]] = _poll(
        page,
        lambda: page.evaluate(  # type: ignore[attr-defined]
            """async () => (await (await navigator.serviceWorker.ready).getNotifications())
                .map((n) => ({title: n.title, body: n.body}))"""
        ),
    )
    return found


def _poll(page: object, probe: Callable[[], list[Any]], timeout: float = 10.0) -> list[Any]:
    """`probe()` until it is not empty; Playwright's events are handled while waiting."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, "nothing arrived"
        page.wait_for_timeout(100)  # type: ignore[attr-defined]
    return found

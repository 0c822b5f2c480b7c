"""The profile page's notification settings by keyboard alone, then a real Web Push.

The server encrypts and signs a push (pywebpush: RFC 8291 aes128gcm, RFC 8292 VAPID) for a
mention and posts it to the tests' loopback push service, which checks the VAPID token and
decrypts it with the subscription's keys. What it decrypted is then handed to the page's
real service worker through Chrome DevTools (`ServiceWorker.deliverPushMessage`), and the
worker shows the notification.

The limit: chromium's `PushManager.subscribe` asks Google's push service (FCM) for an
endpoint, which is not reachable here, so the page's PushManager answers with the loopback
service's endpoint and keys (an init script), and DevTools stands in for the push service's
delivery to the browser. Everything between the server and the push service, and between
the push message and the notification on screen, is real.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.ui import assert_accessible, assert_clean, open_room, post_many
from tests.notify.pushservice import Browser, PushService, push_service

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

# Fatima and Joost share the delta area; no other browser test pushes to them.
AREA = "zuidwestelijke-delta"
USER = "fatima"
AUTHOR = "joost"


class PushThread:
    """The loopback push service, on an event loop of its own (Playwright here is sync)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stop: asyncio.Event | None = None

    def start(self) -> PushService:
        ready: Future[PushService] = Future()

        async def serve() -> None:
            self.stop = asyncio.Event()
            async with push_service() as service:
                ready.set_result(service)
                await self.stop.wait()

        self.done = asyncio.run_coroutine_threadsafe(serve(), self.loop)
        return ready.result(timeout=10)

    def close(self) -> None:
        if self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
            self.done.result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def pushes() -> Iterator[PushService]:
    runner = PushThread()
    try:
        yield runner.start()
    finally:
        runner.close()


def push_manager_of(browser: Browser) -> str:
    """An init script: PushManager answers with the loopback service's endpoint and keys."""
    sub = json.dumps(browser.subscription())
    return f"""(() => {{
        let current = null;
        PushManager.prototype.subscribe = async function (options) {{
            if (!(options.applicationServerKey instanceof Uint8Array)
                || options.applicationServerKey.length !== 65) throw new Error('bad key');
            const sub = {sub};
            current = {{
                endpoint: sub.endpoint,
                toJSON() {{ return sub; }},
                async unsubscribe() {{ current = null; return true; }},
            }};
            return current;
        }};
        PushManager.prototype.getSubscription = async function () {{ return current; }};
    }})();"""


def tab_to(page: Any, element_id: str, limit: int = 80) -> None:
    """From the page's heading (where the client puts the focus on a new screen), press
    Tab until the element with this id has the focus."""
    page.locator("main h1").focus()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} not reached with Tab")


def test_profile_notifications_by_keyboard_and_a_real_push(
    browser: Any,
    open_tab: Callable[..., Tab],
    server: Server,
    axe_source: Path,
    pushes: PushService,
) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        r = http.post("/api/session", json={"username": USER, "password": server.logins[USER]})
        pushes.server_key = http.get(
            "/api/push/key", headers={"Authorization": f"Bearer {r.json()['token']}"}
        ).json()["key"]
    device = pushes.browser(USER)
    context = browser.new_context(
        base_url=server.base_url, locale="nl-NL", timezone_id="Europe/Amsterdam"
    )
    try:
        context.grant_permissions(["notifications"], origin=server.base_url)
        context.add_init_script(push_manager_of(device))
        tab = open_tab(context=context)
        page = tab.page
        page.get_by_label("Gebruikersnaam").fill(USER)
        page.get_by_label("Wachtwoord").fill(server.logins[USER])
        page.keyboard.press("Enter")
        page.locator("#sidebar .room-link").first.wait_for(state="attached")
        page.goto("/profiel")
        page.get_by_role("heading", name="Meldingen", exact=True).wait_for()
        button = page.locator("#profile-push-button")
        page.locator(
            "#profile-push-button[aria-pressed=false]", has_text="Meldingen aan"
        ).wait_for()
        # Nothing is subscribed before the user asks.
        assert page.evaluate(
            "async () => (await (await navigator.serviceWorker.ready).pushManager"
            ".getSubscription()) === null"
        )
        scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
        assert scope == f"{server.base_url}/"

        # The area's level: from "mentions" one up to "all", with the arrow key.
        level = page.locator(f"#profile-level-{AREA}")
        page.wait_for_function(f"() => !document.getElementById('profile-level-{AREA}').disabled")
        assert level.input_value() == "mentions"
        tab_to(page, f"profile-level-{AREA}")
        with page.expect_response(lambda r: r.url.endswith(f"/api/rooms/{AREA}/notifications")):
            page.keyboard.press("ArrowUp")
        assert level.input_value() == "all"

        # The e-mail off and on again with the space bar.
        tab_to(page, "profile-mail")
        assert page.locator("#profile-mail").is_checked()
        with page.expect_response(lambda r: r.url.endswith("/api/me/notifications")) as off:
            page.keyboard.press("Space")
        assert off.value.status == 200 and off.value.json() == {"mail": False}
        page.locator("#live").filter(has_text="geen e-mail meer").wait_for()

        # Pushes on: asked here, by the user, with Enter.
        tab_to(page, "profile-push-button")
        with page.expect_response(lambda r: r.url.endswith("/api/me/push")) as post:
            page.keyboard.press("Enter")
        assert post.value.status == 201
        page.locator("#profile-push-button[aria-pressed=true]", has_text="Meldingen uit").wait_for()

        settings = page.evaluate("async () => (await fetch('/api/me/notifications')).json()")
        assert settings["levels"][AREA] == "all" and settings["mail"] is False
        assert_accessible(tab, axe_source, "profile with notification settings")

        # A mention: the server pushes to the loopback service, which decrypts it.
        post_many(server, AUTHOR, AREA, [f"@{USER} wil jij de kaart nakijken?"])
        got = _until(lambda: device.got)
        assert pushes.refused == []
        assert got[0]["body"] == f"@{USER} wil jij de kaart nakijken?"
        assert got[0]["title"].startswith("Joost Verhoeven noemde je")
        assert got[0]["url"].startswith(f"/kamer/{AREA}?seq=")

        # That very payload, delivered to the page's service worker as a push message.
        cdp = context.new_cdp_session(page)
        registrations: list[dict[str, str]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda e: registrations.extend(e["registrations"]),
        )
        cdp.send("ServiceWorker.enable")
        ids = _until(
            lambda: [
                r["registrationId"]
                for r in registrations
                if r["scopeURL"] == f"{server.base_url}/" and not r.get("isDeleted")
            ],
            page,
        )
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": server.base_url, "registrationId": ids[0], "data": json.dumps(got[0])},
        )
        shown = _until(
            lambda: page.evaluate(
                """async () => (await (await navigator.serviceWorker.ready).getNotifications())
                    .map((n) => ({title: n.title, body: n.body, url: n.data && n.data.url}))"""
            ),
            page,
        )
        assert shown == [{"title": got[0]["title"], "body": got[0]["body"], "url": got[0]["url"]}]

        # Pushes off again, by keyboard; the subscription is gone on the server too.
        button.focus()
        with page.expect_response(lambda r: r.url.endswith("/api/me/push")) as delete:
            page.keyboard.press("Enter")
        assert delete.value.status == 204
        page.locator("#profile-push-button", has_text="Meldingen aan").wait_for()
        tab_to(page, "profile-mail")
        with page.expect_response(lambda r: r.url.endswith("/api/me/notifications")) as on:
            page.keyboard.press("Space")
        assert on.value.json() == {"mail": True}
        assert_clean(tab)
    finally:
        context.close()


def _until(probe: Callable[[], list[Any]], page: Any = None, timeout: float = 30.0) -> list[Any]:
    """`probe()` until it is not empty (Playwright's events are handled while waiting)."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, "nothing arrived"
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)
    return found


def test_dark_mode_follows_the_system_and_stays_accessible(
    browser: Any, open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """prefers-color-scheme: dark gives the dark colours; login, a room and the profile
    page still pass axe and HTML_CodeSniffer (contrast included)."""
    context = browser.new_context(
        base_url=server.base_url, locale="nl-NL", color_scheme="dark", reduced_motion="reduce"
    )
    try:
        tab = open_tab(context=context)
        page = tab.page
        page.get_by_role("button", name="Inloggen").wait_for()
        background = page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--bg').trim()"
        )
        assert background == "#15181b"
        assert_accessible(tab, axe_source, "login, dark")
        page.get_by_label("Gebruikersnaam").fill("bram")
        page.get_by_label("Wachtwoord").fill(server.logins["bram"])
        page.keyboard.press("Enter")
        page.locator("#sidebar .room-link").first.wait_for(state="attached")
        open_room(tab, "zuidoostelijke-zandgronden")
        page.locator(".messages article.msg").first.wait_for()
        assert_accessible(tab, axe_source, "room, dark")
        page.goto("/profiel")
        page.get_by_role("heading", name="Meldingen", exact=True).wait_for()
        assert_accessible(tab, axe_source, "profile, dark")
        assert_clean(tab)
    finally:
        context.close()


# Every other screen of the client, by its path, as the admin sees it (with the data of
# the demo), and the public pages.
DARK_SCREENS = (
    "/zoeken?q=water",
    "/bijpraten",
    "/overzicht",
    "/delen",
    "/moderatie",
    "/gebruikers",
    "/woordenlijst",
    "/bijeenkomst/werkplaats-zandgronden-deurne",
    "/openbaar",
)


def test_every_screen_is_accessible_in_dark_mode(
    browser: Any, open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """The screens with colours of their own (people, sharing, moderation, the public
    pages) pass axe and HTML_CodeSniffer in dark mode too."""
    context = browser.new_context(
        base_url=server.base_url, locale="nl-NL", color_scheme="dark", reduced_motion="reduce"
    )
    try:
        tab = open_tab(context=context)
        page = tab.page
        page.get_by_label("Gebruikersnaam").fill("beheer")
        page.get_by_label("Wachtwoord").fill(server.logins["beheer"])
        page.keyboard.press("Enter")
        page.locator("#sidebar .room-link").first.wait_for(state="attached")
        for path in DARK_SCREENS:
            page.goto(path)
            page.locator("h1").first.wait_for()
            page.wait_for_load_state("networkidle")
            assert_accessible(tab, axe_source, f"{path}, dark")
        assert_clean(tab)
    finally:
        context.close()

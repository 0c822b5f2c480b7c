"""The offline shell and outbox: a reload without a network shows the client and the
unsent message; back online, it goes out once, with the same client_id."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.ui import (
    assert_clean,
    in_room,
    message_bodies,
    send,
    unique,
    wait_connected,
    wait_for_message,
)

pytestmark = pytest.mark.browser

AREA = "veenweiden-aldeboarn"


def wait_shell_kept(tab: Tab, timeout: float = 20.0) -> None:
    """Until the service worker controls the page and keeps the shell and its modules."""
    deadline = time.monotonic() + timeout
    script = """async () => {
        if (!navigator.serviceWorker.controller) return false;
        const shell = await caches.match('/', {cacheName: 'werkplaats-shell'});
        const assets = await (await caches.open('werkplaats-assets')).keys();
        return Boolean(shell) && assets.some((r) => r.url.endsWith('/js/outbox.js'));
    }"""
    while not tab.page.evaluate(script):
        assert time.monotonic() < deadline, "the service worker did not keep the shell"
        time.sleep(0.25)


def test_unsent_message_survives_an_offline_reload(open_tab, server: Server) -> None:
    """Offline: send, reload (the shell, the message pending), online: it arrives once."""
    anna, sjoerd = in_room(open_tab, server, AREA, "anna", "sjoerd")
    wait_shell_kept(anna)
    page = anna.page
    anna.context.set_offline(True)
    page.locator("#connection", has_text="offline").wait_for()
    text = unique("Zonder verbinding geschreven")
    send(anna, text)
    page.locator(".msg-pending", has_text=text).wait_for()
    page.locator("#composer-input").fill("Nog een concept")
    page.reload()
    # The client, not the browser's error page: the room, the pending message, the draft.
    page.locator("#composer-input").wait_for()
    page.locator(".msg-pending", has_text=text).wait_for()
    assert page.locator("#composer-input").input_value() == "Nog een concept"
    page.locator("#connection", has_text="offline").wait_for()

    anna.context.set_offline(False)
    wait_for_message(sjoerd, text)
    wait_connected(anna)
    page.locator(".msg-pending", has_text=text).wait_for(state="detached")
    wait_for_message(anna, text)
    assert message_bodies(sjoerd).count(text) == 1
    assert message_bodies(anna).count(text) == 1
    assert (
        page.evaluate(
            "Object.keys(localStorage).filter((k) => k.startsWith('werkplaats:outbox:')).length"
        )
        == 0
    )
    assert_clean(anna)

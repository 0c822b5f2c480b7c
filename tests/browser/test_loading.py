"""A page whose own files fail to arrive while it loads (the network changed, a link
dropped): it loads once more by itself, and if that fails too, says so with a button."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DEFAULT_TIMEOUT_MS, Server, Tab
from tests.browser.ui import assert_accessible, press

pytestmark = pytest.mark.browser

LOST = "**/js/views/login.js"


def context_losing(browser: Any, server: Server, times: int | None) -> tuple[Any, list[str]]:
    """A browser context in which the first `times` requests (None: all) for the login
    view's module fail as a dropped connection does."""
    ctx = browser.new_context(base_url=server.base_url, locale="nl-NL")
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    asked: list[str] = []

    def lose(route: Any) -> None:
        asked.append(route.request.url)
        if times is None or len(asked) <= times:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    ctx.route(LOST, lose)
    return ctx, asked


def test_a_file_lost_while_loading_loads_the_page_again(browser, open_tab, server) -> None:
    ctx, asked = context_losing(browser, server, times=1)
    try:
        tab: Tab = open_tab(context=ctx)
        tab.page.get_by_label("Gebruikersnaam").wait_for()
        assert len(asked) == 2
    finally:
        ctx.close()


def test_a_page_that_cannot_load_says_so_and_offers_a_retry(
    browser, open_tab, server, axe_source: Path
) -> None:
    ctx, asked = context_losing(browser, server, times=None)
    loads: list[str] = []
    ctx.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)
    try:
        tab: Tab = open_tab(context=ctx)
        page = tab.page
        page.get_by_role("heading", name="De Werkplaats kon niet laden").wait_for()
        assert len(loads) == 2  # the first load and one retry by itself, no loop
        # Each load asks for the module at most twice: its preload, then its import.
        assert 2 <= len(asked) <= 4
        assert_accessible(tab, axe_source, "load-failed")
        again = page.get_by_role("button", name="Opnieuw laden")
        # Keyboard alone: the message has focus, the button is the next stop.
        page.keyboard.press("Tab")
        assert again.evaluate("el => el === document.activeElement")
        ctx.unroute(LOST)
        with page.expect_navigation():
            press(again)
        page.get_by_label("Gebruikersnaam").wait_for()
    finally:
        ctx.close()

"""Routing by paths: real links, moved without a reload, old `#/…` addresses still work,
the demo's accounts on the login page, and a second checker (HTML_CodeSniffer) beside axe."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import Server
from tests.browser.ui import assert_accessible, assert_clean, go_to, login, open_room

pytestmark = pytest.mark.browser

AREA = "veenweiden-aldeboarn"


def test_links_are_paths_followed_without_a_reload(
    open_tab, server: Server, axe_source: Path
) -> None:
    """Every link is a path; clicking moves the page, Back returns, a reload stays put."""
    tab = open_tab()
    page = tab.page
    demo = page.get_by_role("region", name="Demo-accounts")
    demo.get_by_role("button", name="Invullen als anna").click()
    assert page.get_by_label("Gebruikersnaam").input_value() == "anna"
    assert_accessible(tab, axe_source, "login with the demo accounts")
    page.get_by_role("button", name="Inloggen").click()
    page.locator("#sidebar .room-link").first.wait_for()
    assert page.locator('a[href^="#/"]').count() == 0
    assert page.locator(f'#sidebar a[href="/kamer/{AREA}"]').count() == 1

    page.evaluate("window.stayed = true")  # gone if the page were loaded again
    open_room(tab, AREA)
    assert page.evaluate("location.pathname") == f"/kamer/{AREA}"
    go_to(tab, "Zoeken")
    page.get_by_role("heading", name="Zoeken").wait_for()
    assert page.evaluate("location.pathname") == "/zoeken"
    page.go_back()
    page.locator("#composer-input").wait_for()
    assert page.evaluate("[location.pathname, window.stayed]") == [f"/kamer/{AREA}", True]

    page.reload()
    page.locator("#composer-input").wait_for()
    page.get_by_role("heading", name=page.locator("#room-title").inner_text()).wait_for()
    # An old bookmark or mail: `/#/kamer/<slug>?seq=N` becomes its path and shows the message.
    page.goto(f"/#/kamer/{AREA}?seq=1")
    page.locator(".messages article.msg-target").wait_for()
    assert page.evaluate("location.pathname + location.search + location.hash") == (
        f"/kamer/{AREA}?seq=1"
    )
    page.goto("/#/bijpraten")
    page.wait_for_function("location.pathname === '/bijpraten'")
    assert page.locator('#topnav a[aria-current="page"]').inner_text() == "Bijpraten"
    assert_clean(tab)


def test_one_time_links_keep_their_token_in_the_fragment(open_tab, server: Server) -> None:
    """An old reset link `#/wachtwoord-herstellen/<token>` opens `/wachtwoord-herstellen#<token>`."""
    tab = open_tab()
    page = tab.page
    token = "A" * 43
    page.goto(f"/#/wachtwoord-herstellen/{token}")
    page.get_by_role("heading", name="Nieuw wachtwoord kiezen").wait_for()
    assert page.evaluate("location.pathname + location.hash") == (f"/wachtwoord-herstellen#{token}")
    page.get_by_role("link", name="Werkplaats").click()
    page.get_by_role("heading", name="Inloggen bij de Werkplaats").wait_for()
    login(tab, "marieke", server.logins["marieke"])
    assert_clean(tab)

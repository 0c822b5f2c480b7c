"""Every screen of the web client: it renders in Dutch, passes axe-core (no serious or
critical violation), keeps to the Content-Security-Policy, and is saved as a screenshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import Server
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    go_to,
    login,
    open_room,
    shot,
    signed_in,
)

pytestmark = pytest.mark.browser

AREA = "veenweiden-aldeboarn"
THEME = "werken-als-een-overheid"


def test_login_screen(open_tab, axe_source: Path) -> None:
    """The login screen is in Dutch, labelled and accessible."""
    tab = open_tab()
    page = tab.page
    page.get_by_role("heading", name="Inloggen bij de Werkplaats").wait_for()
    assert page.evaluate("document.documentElement.lang") == "nl"
    shot(tab, "01-inloggen")
    assert_accessible(tab, axe_source, "login")
    page.get_by_label("Gebruikersnaam").fill("anna")
    page.get_by_label("Wachtwoord").fill("fout-wachtwoord")
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_role("alert").filter(has_text="klopt niet").wait_for()
    assert_accessible(tab, axe_source, "login with error")
    assert_clean(tab)


def test_member_screens(open_tab, server: Server, axe_source: Path) -> None:
    """Home, room list, a room with history, a message menu and search pass axe."""
    tab = signed_in(open_tab, server, "anna")
    page = tab.page
    page.get_by_role("heading", name="Welkom, Anna de Vries").wait_for()
    for group in ("Mijn gebieden", "Thema's", "Bijeenkomsten"):
        page.locator("#sidebar").get_by_role("heading", name=group).wait_for()
    shot(tab, "02-overzicht")
    assert_accessible(tab, axe_source, "home")

    open_room(tab, AREA)
    page.locator(".messages article.msg").first.wait_for()
    badge = page.locator(".messages .badge").first
    assert badge.inner_text().split()[-1] in {
        "Rijk",
        "Provincie",
        "Gemeente",
        "Waterschap",
        "Overig",
    }
    page.locator(".messages .day-sep").first.wait_for()
    shot(tab, "03-kamer")
    assert_accessible(tab, axe_source, "room")

    page.locator(".messages .msg-menu-toggle").last.click()
    page.locator(".msg-menu:popover-open .menu-item").first.wait_for()
    assert_accessible(tab, axe_source, "room with message menu")
    page.keyboard.press("Escape")

    go_to(tab, "Zoeken")
    page.get_by_role("heading", name="Zoeken").wait_for()
    page.get_by_label("Zoekwoorden").fill("mandaat")
    page.get_by_role("button", name="Zoeken").click()
    page.locator(".search-status").filter(has_text="…").wait_for(state="detached")
    page.wait_for_function(
        "() => { const t = document.querySelector('.search-status').textContent;"
        " return t && !t.endsWith('…'); }"
    )
    shot(tab, "05-zoeken")
    assert_accessible(tab, axe_source, "search")
    if page.locator(".search-results .hit").count():
        assert page.locator(".search-results mark").count() > 0
        assert "\ue000" not in page.locator(".search-results").inner_text()
        page.locator(".search-results .hit-head a").first.click()
        page.locator(".messages article.msg-target").wait_for()
    else:  # a server without search says so in Dutch
        page.locator(".search-status", has_text="niet beschikbaar").wait_for()
    assert_clean(tab)


def test_moderator_screens(open_tab, server: Server, axe_source: Path) -> None:
    """A member's report reaches the moderation screen; it and the dialogs pass axe."""
    anna = signed_in(open_tab, server, "anna")
    open_room(anna, THEME)
    other = anna.page.locator(".messages article.msg").filter(has_not_text="Anna de Vries")
    other.first.locator(".msg-menu-toggle").click()
    anna.page.get_by_role("button", name="Melden").click()
    reason = "Dit klopt niet: het peilbesluit is nog niet genomen."
    anna.page.get_by_role("dialog").get_by_label("Waarom meld je dit bericht?").fill(reason)
    assert_accessible(anna, axe_source, "report dialog")
    anna.page.get_by_role("dialog").get_by_role("button", name="Melden").click()
    anna.page.get_by_role("dialog").wait_for(state="detached")

    tab = signed_in(open_tab, server, "pieter")
    page = tab.page
    go_to(tab, "Moderatie")
    page.get_by_role("heading", name="Moderatie").wait_for()
    row = page.locator("tr", has_text=reason)
    row.wait_for()
    shot(tab, "06-moderatie")
    assert_accessible(tab, axe_source, "moderation")
    row.get_by_role("button", name="Afhandelen").click()
    page.locator("tr", has_text=reason).filter(has_text="afgehandeld").first.wait_for()
    page.locator("tr", has_text="melding afgehandeld").first.wait_for()

    open_room(tab, THEME)
    page.locator(".messages article.msg").first.wait_for()
    page.get_by_role("button", name="Kamerbeheer").click()
    page.get_by_role("dialog").wait_for()
    shot(tab, "07-kamerbeheer")
    assert_accessible(tab, axe_source, "room settings dialog")
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="detached")

    page.locator(".messages .msg-menu-toggle").first.click()
    page.get_by_role("button", name="Verbergen (moderatie)").first.click()
    page.get_by_role("dialog").wait_for()
    assert_accessible(tab, axe_source, "hide dialog")
    page.get_by_role("button", name="Annuleren").click()
    assert_clean(tab)


def test_phone_width(open_tab, server: Server, axe_source: Path) -> None:
    """At 360 px wide the list and the room fit without sideways scrolling."""
    tab = open_tab(width=360, height=740)
    page = tab.page
    login(tab, "marieke", server.logins["marieke"])
    page.get_by_role("heading", name="Mijn gebieden").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(tab, "08-telefoon-overzicht")
    assert_accessible(tab, axe_source, "home at 360px")
    open_room(tab, AREA)
    page.get_by_role("link", name="Alle gesprekken").wait_for()
    page.locator("#composer-input").fill("Ik rij morgen mee naar Tijnje.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(tab, "09-telefoon-kamer")
    assert_accessible(tab, axe_source, "room at 360px")
    page.locator(".messages .msg-menu-toggle").last.click()
    page.locator(".msg-menu:popover-open").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.keyboard.press("Escape")
    go_to(tab, "Zoeken")
    page.get_by_label("Zoekwoorden").fill("boeren")
    page.get_by_label("Zoekwoorden").press("Enter")
    page.wait_for_function(
        "() => { const t = document.querySelector('.search-status').textContent;"
        " return t && !t.endsWith('…'); }"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(tab, "14-telefoon-zoeken")
    assert_accessible(tab, axe_source, "search at 360px")
    assert_clean(tab)


def test_logout_ends_the_session(open_tab, server: Server) -> None:
    """After logging out the cookie no longer works, also after a reload."""
    tab = signed_in(open_tab, server, "ingrid")
    page = tab.page
    page.get_by_role("button", name="Uitloggen").click()
    page.get_by_text("Je bent uitgelogd.").wait_for()
    page.reload()
    page.get_by_role("heading", name="Inloggen bij de Werkplaats").wait_for()
    status = page.evaluate("async () => (await fetch('/api/me')).status")
    assert status == 401


def test_room_moderator_gets_the_tools_of_that_room_only(open_tab, server: Server) -> None:
    """Sjoerd moderates the Veenweiden room: tools there, none in a theme room."""
    tab = signed_in(open_tab, server, "sjoerd")
    page = tab.page
    open_room(tab, AREA)
    page.get_by_role("button", name="Kamerbeheer").wait_for()
    go_to(tab, "Gesprekken")
    open_room(tab, THEME)
    page.wait_for_timeout(500)
    assert page.get_by_role("button", name="Kamerbeheer").is_hidden()
    page.locator(".messages .msg-menu-toggle").first.click()
    assert page.get_by_role("button", name="Verbergen (moderatie)").count() == 0
    assert_clean(tab)


def test_logout_in_one_tab_reaches_the_other(open_tab, server: Server) -> None:
    """The server ends the session's connections; the other tab returns to the login."""
    first = signed_in(open_tab, server, "bram")
    second = open_tab(context=first.context)
    second.page.locator("#sidebar .room-link").first.wait_for()
    second.page.wait_for_function("() => document.body.dataset.connection === 'open'")
    first.page.get_by_role("button", name="Uitloggen").click()
    second.page.get_by_role("heading", name="Inloggen bij de Werkplaats").wait_for(timeout=20_000)
    second.page.get_by_text("Je sessie is beëindigd").wait_for()

"""The glossary screen in chromium: read, added to by keyboard, and its reason on a hit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import Server
from tests.browser.ui import assert_accessible, assert_clean, go_to, signed_in

pytestmark = pytest.mark.browser


def test_moderator_keeps_the_glossary_and_search_says_why(
    open_tab, server: Server, axe_source: Path
) -> None:
    """The demo's entries are listed; a moderator adds one by keyboard; LVVN finds "het
    ministerie" and the hit says "gevonden via LVVN"; the screen passes axe."""
    tab = signed_in(open_tab, server, "pieter")
    page = tab.page
    go_to(tab, "Woordenlijst")
    page.get_by_role("heading", name="Woordenlijst", exact=True).wait_for()
    page.get_by_role("cell", name="LVVN", exact=True).wait_for()
    page.get_by_label("Afkorting of woord").focus()
    page.keyboard.type("KRW")
    page.keyboard.press("Tab")
    page.keyboard.type("Kaderrichtlijn Water")
    page.keyboard.press("Enter")
    page.get_by_role("cell", name="Kaderrichtlijn Water", exact=True).wait_for()
    assert_accessible(tab, axe_source, "glossary")
    page.get_by_role("button", name="KRW verwijderen").click()
    page.get_by_role("cell", name="Kaderrichtlijn Water").wait_for(state="detached")

    page.goto(f"{server.base_url}/zoeken?q=LVVN")
    page.get_by_text("gevonden via LVVN").first.wait_for()
    assert_clean(tab)

"""A moderator renames a topic from the room's topic filter, with the keyboard alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import Server
from tests.browser.ui import assert_accessible, assert_clean, in_room, unique, wait_for_message

pytestmark = pytest.mark.browser

THEME = "werken-als-een-overheid"


def test_a_moderator_renames_a_topic(open_tab, server: Server, axe_source: Path) -> None:
    [pieter, anna] = in_room(open_tab, server, THEME, "pieter", "anna")
    page, kb = pieter.page, pieter.page.keyboard
    old, new = unique("Excursie")[:40], unique("Excursies")[:40]
    page.locator("#composer-topic").fill(old)
    page.locator("#composer-input").fill(unique("Wie rijdt er mee?"))
    page.locator("#composer-input").press("Enter")
    page.locator(".msg-topic", has_text=old).first.wait_for()
    # A member sees no rename; the moderator does, once a topic is chosen.
    anna.page.locator(".msg-topic", has_text=old).first.wait_for()
    anna.page.get_by_label("Onderwerp", exact=True).select_option(old)
    assert anna.page.get_by_role("button", name="Hernoemen").count() == 0
    page.get_by_label("Onderwerp", exact=True).select_option(old)
    button = page.get_by_role("button", name="Hernoemen")
    button.focus()
    kb.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Nieuwe naam").fill(new)
    dialog.get_by_label("Waarom? (voor het logboek)").fill("meervoud")
    assert_accessible(pieter, axe_source, "rename a topic")
    dialog.get_by_role("button", name="Hernoemen").focus()
    kb.press("Enter")
    dialog.wait_for(state="detached")
    page.locator(".msg-topic", has_text=new).first.wait_for()
    assert page.get_by_label("Onderwerp", exact=True).input_value() == new
    # The other reader's messages follow the room event.
    anna.page.locator(".msg-topic", has_text=new).first.wait_for()
    wait_for_message(anna, "Wie rijdt er mee?")
    assert_clean(pieter)
    assert_clean(anna)

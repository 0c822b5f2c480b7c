"""The bijeenkomst page in the browser: registering with the keyboard, counts in a second
browser, accessible (axe: no serious or critical violation) and within the CSP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.ui import assert_accessible, assert_clean, shot, signed_in

pytestmark = pytest.mark.browser

MEETING = "werkplaats-zandgronden-deurne"
# The page reads the counts again every 15 s (js/meeting.js REFRESH_MS).
REFRESH_WAIT_MS = 25_000


def open_meeting_by_keyboard(tab: Tab) -> None:
    """From the room list, with the keyboard only: focus the meeting's link, press Enter."""
    page = tab.page
    link = page.locator(f'#sidebar a.meeting-link[href="/bijeenkomst/{MEETING}"]')
    link.focus()
    page.keyboard.press("Enter")
    page.locator(".meeting-page h1").wait_for()
    page.locator(".meeting-my-status").wait_for()


def test_register_and_counts_follow_in_a_second_browser(
    open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """Fatima registers with the keyboard; Ingrid's open page shows five going."""
    ingrid = signed_in(open_tab, server, "ingrid")
    open_meeting_by_keyboard(ingrid)
    going = ingrid.page.locator('[data-count="going"]')
    assert going.inner_text().startswith("4 komen")
    fatima = signed_in(open_tab, server, "fatima")
    open_meeting_by_keyboard(fatima)
    page = fatima.page
    assert "Werken als één overheid" in page.locator("h1").inner_text()
    assert page.locator(".meeting-programme").inner_text().startswith("10:00 Ontvangst")
    assert page.get_by_role("link", name="Zet in agenda").get_attribute("href") == (
        f"/api/meetings/{MEETING}/ics"
    )
    assert page.locator("section[data-report]").count() == 1
    page.get_by_role("button", name="Ik kom", exact=True).focus()
    page.keyboard.press("Enter")
    page.locator('.meeting-my-status[data-my-status="going"]').wait_for()
    assert page.locator('[data-count="going"]').inner_text().startswith("5 komen")
    assert (
        page.get_by_role("button", name="Ik kom", exact=True).get_attribute("aria-pressed")
        == "true"
    )
    assert "Fatima" in page.locator(".meeting-going").inner_text()
    shot(fatima, "30-bijeenkomst")
    assert_accessible(fatima, axe_source, "meeting page")
    ingrid.page.locator('[data-count="going"]', has_text="5 komen").wait_for(
        timeout=REFRESH_WAIT_MS
    )
    # A moderator sees the presence list; its CSV is one link away.
    pieter = signed_in(open_tab, server, "pieter")
    open_meeting_by_keyboard(pieter)
    pieter.page.get_by_role("heading", name="Presentielijst").wait_for()
    assert pieter.page.get_by_role("link", name="Presentielijst downloaden (CSV)").count() == 1
    assert_accessible(pieter, axe_source, "meeting page (moderator)")
    for tab in (ingrid, fatima, pieter):
        assert_clean(tab)

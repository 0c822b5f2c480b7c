"""The bijeenkomst page in the browser: registering with the keyboard, counts in a second
browser, an admin's change and cancellation followed by a participant's open page,
accessible (axe: no serious or critical violation) and within the CSP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.test_meetings_ui import api
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    post_many,
    press,
    shot,
    signed_in,
    submit_dialog,
)

pytestmark = pytest.mark.browser

MEETING = "werkplaats-zandgronden-deurne"


def open_meeting_by_keyboard(tab: Tab, slug: str = MEETING) -> None:
    """From the room list, with the keyboard only: focus the meeting's link, press Enter."""
    page = tab.page
    link = page.locator(f'#sidebar a.meeting-link[href="/bijeenkomst/{slug}"]')
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
    # Live (`meeting_updated`), well within the default wait: the page's own poll is 2 min.
    ingrid.page.locator('[data-count="going"]', has_text="5 komen").wait_for()
    # A moderator sees the presence list; its CSV is one link away.
    pieter = signed_in(open_tab, server, "pieter")
    open_meeting_by_keyboard(pieter)
    pieter.page.get_by_role("heading", name="Presentielijst").wait_for()
    assert pieter.page.get_by_role("link", name="Presentielijst downloaden (CSV)").count() == 1
    assert_accessible(pieter, axe_source, "meeting page (moderator)")
    for tab in (ingrid, fatima, pieter):
        assert_clean(tab)


def test_admin_edits_and_cancels_and_the_participants_page_follows(
    open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """The admin moves a meeting to 13:30 and then cancels it, through the page's dialogs;
    the open page of a registered participant follows each change live."""
    slug = f"bijeenkomst-{uuid.uuid4().hex[:6]}"
    day = date.today() + timedelta(days=60)
    api(server, "beheer", "POST", "/api/meetings", {
        "slug": slug, "title": "Werkplaats: verplaatst", "theme": "werken-als-een-overheid",
        "date": day.isoformat(), "place": "Gemeentehuis, Deurne",
    })  # fmt: skip
    api(server, "bram", "PUT", f"/api/meetings/{slug}/registration", {"status": "going"})
    bram = signed_in(open_tab, server, "bram")
    open_meeting_by_keyboard(bram, slug)
    facts = bram.page.locator(".meeting-facts")
    assert "10:00" in facts.inner_text()
    beheer = signed_in(open_tab, server, "beheer")
    open_meeting_by_keyboard(beheer, slug)
    page = beheer.page
    press(page.get_by_role("button", name="Bijeenkomst wijzigen"))
    submit_dialog(beheer, "Opslaan", {"Begin": f"{day.isoformat()}T13:30"})
    page.locator("#live").filter(has_text="De bijeenkomst is gewijzigd.").wait_for()
    facts.filter(has_text="13:30").wait_for()
    assert_accessible(beheer, axe_source, "meeting page (admin)")

    press(page.get_by_role("button", name="Bijeenkomst afzeggen"))
    submit_dialog(beheer, "Afzeggen", {"Reden": "Zaal niet beschikbaar"})
    page.get_by_role("button", name="Toch laten doorgaan").wait_for()
    bram.page.get_by_text("Deze bijeenkomst gaat niet door.").wait_for()
    assert bram.page.get_by_role("button", name="Ik kom", exact=True).is_disabled()
    shot(bram, "31-bijeenkomst-afgezegd")
    meeting = api(server, "bram", "GET", f"/api/meetings/{slug}")["meeting"]
    assert meeting["status"] == "cancelled" and meeting["date"].endswith(":30:00.000Z")
    for tab in (bram, beheer):
        assert_clean(tab)


def test_focus_stays_on_the_meeting_link_while_counts_change(
    open_tab: Callable[..., Tab], server: Server
) -> None:
    """The room list is drawn anew when a count changes: a keyboard user on "Programma en
    inschrijven" keeps the focus there (it went to the page before)."""
    ingrid = signed_in(open_tab, server, "ingrid")
    page = ingrid.page
    link = page.locator(f'#sidebar a.meeting-link[href="/bijeenkomst/{MEETING}"]')
    link.focus()
    room = page.locator('#sidebar a[data-slug="zuidwestelijke-delta"]')
    before = room.inner_text()
    post_many(server, "fatima", "zuidwestelijke-delta", [f"Even tussendoor {uuid.uuid4().hex[:6]}"])
    page.wait_for_function(
        "([el, text]) => el.innerText !== text", arg=[room.element_handle(), before]
    )
    assert link.evaluate("(el) => el === document.activeElement")

"""Topics, reactions, drafts and a direct conversation between two browsers, with the
keyboard alone, axe-clean, and new reactions told to screen readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import Server
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    in_room,
    open_room,
    shot,
    unique,
    wait_connected,
    wait_for_message,
)

pytestmark = pytest.mark.browser

THEME = "werken-als-een-overheid"


def slug_now(page) -> str:  # type: ignore[no-untyped-def]
    """The slug of the room the page shows."""
    return str(page.evaluate("location.pathname").split("/")[-1])


def test_topics_reactions_drafts_and_a_direct_conversation(
    open_tab, server: Server, axe_source: Path
) -> None:
    """Anna posts under a topic, Bram reacts with the keyboard, Anna hears of it; a draft
    survives a room switch; a direct conversation reaches Bram and no one else."""
    anna, bram = in_room(open_tab, server, THEME, "anna", "bram")
    page, kb = anna.page, anna.page.keyboard

    page.locator("#composer-topic").focus()
    kb.type("Planning")
    kb.press("Tab")
    assert page.evaluate("document.activeElement.id") == "composer-input"
    text = unique("Welke datum past voor de excursie?")  # edited later
    kb.type(text)
    kb.press("Enter")
    seen = wait_for_message(bram, text).first
    seen.locator(".msg-topic", has_text="Planning").wait_for()

    # Bram reacts with the keyboard: the toggle, then the first of the default row.
    seen.locator(".reaction-toggle").focus()
    bram.page.keyboard.press("Enter")
    assert bram.page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        "Reageer met 👍"
    )
    bram.page.keyboard.press("Enter")
    mine = wait_for_message(anna, text).first.locator(".reaction-list .reaction")
    mine.first.wait_for()
    label = mine.first.get_attribute("aria-label") or ""
    assert label.startswith("👍 1: Bram Peeters")
    page.locator("#live", has_text="Bram Peeters reageerde").wait_for()

    # Anna edits it; Bram opens "(bewerkt)" with the keyboard and reads the earlier text.
    own = page.locator(".messages article.msg", has_text=text).first
    own.locator(".msg-menu-toggle").focus()
    kb.press("Enter")
    page.get_by_role("button", name="Bewerken").focus()
    kb.press("Enter")
    better = unique("Welke dag past voor de excursie?")
    page.locator("#composer-input").fill(better)
    page.locator("#composer-input").press("Enter")
    edited = wait_for_message(bram, better).first.locator("button.edited")
    edited.focus()
    bram.page.keyboard.press("Enter")
    versions = bram.page.get_by_role("dialog")
    versions.locator(".history-list li", has_text=text).wait_for()
    assert_accessible(bram, axe_source, "edit history")
    bram.page.keyboard.press("Escape")
    versions.wait_for(state="detached")
    assert bram.page.evaluate("document.activeElement.classList.contains('edited')")

    # The topic filter lists the topic; choosing it keeps that topic's messages only.
    page.get_by_label("Onderwerp", exact=True).select_option("Planning")
    assert page.locator(".messages article.msg:not([hidden])").count() >= 1
    assert (
        page.locator(".messages article.msg:not([hidden]) .msg-topic").count()
        == page.locator(".messages article.msg:not([hidden])").count()
    )
    assert_accessible(anna, axe_source, "room with topics and reactions")
    shot(anna, "20-onderwerpen-reacties")

    # A poll: Anna opens it, Bram votes with the keyboard, Anna sees the table and hears it.
    page.locator(".polls summary").focus()
    kb.press("Enter")
    page.get_by_role("button", name="Nieuwe peiling").focus()
    kb.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Vraag").fill("Welke dag?")
    dialog.get_by_label("Keuzes, één per regel (2 tot 10)").fill("dinsdag\ndonderdag")
    dialog.get_by_role("button", name="Peiling openen").focus()
    kb.press("Enter")
    dialog.wait_for(state="detached")
    bram.page.locator(".polls summary").focus()
    bram.page.keyboard.press("Enter")
    bram.page.locator(".poll", has_text="Welke dag?").wait_for()
    bram.page.get_by_label("donderdag").focus()
    bram.page.keyboard.press("Space")
    bram.page.keyboard.press("Tab")
    bram.page.keyboard.press("Enter")
    results = page.locator(".poll", has_text="Welke dag?").locator("table.poll-results")
    results.locator("tr", has_text="donderdag").locator("td", has_text="1").first.wait_for()
    page.locator("#live", has_text="Nieuwe stem in de peiling").wait_for()
    assert_accessible(anna, axe_source, "poll results")

    # A draft is kept when Anna opens a new direct conversation and comes back.
    draft = unique("Half af")
    page.locator("#composer-input").fill(draft)
    page.locator("#composer-input").dispatch_event("input")
    page.get_by_role("button", name="Nieuw gesprek").focus()
    kb.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Gebruikersnamen, gescheiden door komma’s").fill("bram")
    kb.press("Enter")
    dialog.wait_for(state="detached")
    page.locator("#composer-input").wait_for()
    wait_connected(anna)
    assert page.locator(f'#sidebar a[data-slug="{THEME}"] .room-draft').count() == 1
    private = unique("Alleen voor jou")
    page.locator("#composer-input").fill(private)
    page.locator("#composer-input").press("Enter")
    wait_for_message(anna, private)
    # Durable now: that room's draft is gone, the other room's stays.
    page.locator(f'#sidebar a[data-slug="{THEME}"] .room-draft').wait_for()
    assert (
        page.evaluate("(s) => localStorage.getItem('werkplaats:concept:anna:' + s)", slug_now(page))
        is None
    )
    assert_accessible(anna, axe_source, "direct conversation")
    slug = page.evaluate("location.pathname").split("/")[-1]
    open_room(anna, THEME)
    assert page.locator("#composer-input").input_value() == draft
    # Kept as Anna's: a colleague signing in on this browser sees none of it.
    assert page.evaluate("(s) => localStorage.getItem('werkplaats:concept:anna:' + s)", THEME)

    # No reload: the `room_added` frame brings the new conversation into Bram's list.
    bram.page.locator(f'#sidebar a[data-slug="{slug}"]').wait_for()
    open_room(bram, slug, live=True)
    wait_for_message(bram, private)
    assert_clean(anna)
    assert_clean(bram)

"""Rooms as people see them every day: live unread and mention counts of rooms that are
not open (`activity` frames, no polling), mentions of me marked and counted in the tab
title, and the room's state above the message box (slow mode with its countdown, muted
until when, locked, banned) with only the actions that can succeed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import Server
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    in_room,
    open_menu,
    open_room,
    post_many,
    room_settings,
    send,
    shot,
    signed_in,
    submit_dialog,
    unique,
    wait_for_message,
    wait_read_to_end,
)

pytestmark = pytest.mark.browser

AREA = "veenweiden-aldeboarn"
THEME = "werken-als-een-overheid"
# Well under the 30 s the room list used to be polled at: only a live frame is this fast.
LIVE_MS = 5000
TITLE_COUNT = re.compile(r"^\((\d+)\) ")


def title_count(title: str) -> int:
    found = TITLE_COUNT.match(title)
    return int(found.group(1)) if found else 0


def test_room_list_counts_live_and_mentions_are_marked(
    open_tab, server: Server, axe_source: Path
) -> None:
    """Four messages in a room that is not open, one naming me: the list shows 4 and @1
    at once, the tab title counts the mention, and the message is marked in the room."""
    anna = signed_in(open_tab, server, "anna")
    page = anna.page
    open_room(anna, AREA, live=True)
    page.locator(".timeline").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    wait_read_to_end(anna, AREA)
    open_room(anna, THEME, live=True)
    before = title_count(page.title())
    link = page.locator(f'#sidebar a[data-slug="{AREA}"]')
    assert link.locator(".unread-count").count() == 0
    naming = unique("@anna kun jij hier naar kijken")
    post_many(
        server, "sjoerd", AREA, [unique("Eerste"), unique("Tweede"), naming, unique("Vierde")]
    )
    link.locator(".unread-count", has_text="4").wait_for(timeout=LIVE_MS)
    link.locator(".mention-count", has_text="@1").wait_for(timeout=LIVE_MS)
    page.wait_for_function(
        "n => document.title.startsWith(`(${n}) `)", arg=before + 1, timeout=LIVE_MS
    )
    shot(anna, "30-kamerlijst-live")

    open_room(anna, AREA, live=True)
    marked = wait_for_message(anna, naming).first
    assert "msg-mentions-me" in (marked.get_attribute("class") or "")
    assert marked.locator("mark.mention-me").inner_text() == "@anna"
    marked.locator(".mention-flag", has_text="noemt jou").wait_for()
    shot(anna, "31-vermelding")
    assert_accessible(anna, axe_source, "room with a mention of me")
    # Read to the end: the title's count is back where it was.
    page.locator(".timeline").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_function("n => !document.title.startsWith(`(${n + 1}) `)", arg=before)
    assert_clean(anna)


def test_room_state_is_shown_and_failing_actions_are_not_offered(
    open_tab, server: Server, axe_source: Path
) -> None:
    """Slow mode for everyone with a countdown after my send; muted until a time (box off,
    no reply or mark offered); locked; then banned in Dutch, the mute line gone."""
    room = "dynamisch-programmeren"
    joost, pieter = in_room(open_tab, server, room, "joost", "pieter")
    state = joost.page.locator("#composer-state")
    room_settings(pieter, {"Langzame modus": "30"})
    state.filter(has_text="één bericht per 30 seconden").wait_for()
    pieter.page.locator("#composer-state", has_text="geldt niet voor moderatoren").wait_for()
    first = unique("Een vraag over de planning")
    send(joost, first)
    state.filter(has_text=re.compile(r"Je kunt over \d+ seconden weer")).wait_for()
    assert joost.page.get_by_role("button", name="Versturen").is_disabled()
    shot(joost, "32-langzame-modus")

    open_menu(pieter, first)
    pieter.page.get_by_role("button", name="Joost Verhoeven dempen").click()
    submit_dialog(pieter, "Dempen", {"Hoe lang (minuten)": "5", "Reden": "Even afkoelen"})
    state.filter(has_text=re.compile(r"Je bent gedempt tot .+Reden: Even afkoelen")).wait_for()
    assert joost.page.locator("#composer-input").is_disabled()
    open_menu(joost, first)
    menu = joost.page.locator(".msg-menu:not([hidden])")
    assert menu.get_by_role("button", name="Intrekken").count() == 1
    for label in ("Beantwoorden", "Bewerken", "Markeren als vraag"):
        assert menu.get_by_role("button", name=label).count() == 0, label
    joost.page.keyboard.press("Escape")
    assert_accessible(joost, axe_source, "muted in a room")

    room_settings(pieter, {"Gesloten (alleen lezen)": True, "Langzame modus": "0"})
    state.filter(has_text="gesloten").wait_for()
    room_settings(pieter, {"Gesloten (alleen lezen)": False})
    state.filter(has_text="gedempt").wait_for()

    open_menu(pieter, first)
    pieter.page.get_by_role("button", name="Joost Verhoeven verbannen").click()
    submit_dialog(pieter, "Verbannen", {"Reden": "Herhaaldelijk persoonlijk"})
    state.filter(has_text="Je bent uit deze kamer verbannen").wait_for()
    notice = joost.page.locator(".room-notice")
    assert "banned" not in notice.inner_text() and "verbannen" in notice.inner_text()
    assert "gedempt" not in state.inner_text() + notice.inner_text()
    assert joost.page.locator("#composer-input").is_disabled()
    assert_clean(joost)
    assert_clean(pieter)

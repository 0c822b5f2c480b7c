"""The verslag in the browser: a moderator writes a report, previews it and publishes it;
a participant who missed a meeting finds its report first in Bijpraten.

The editor (js/report.js) on the page `/verslag/<slug>`: the preview and the report are
the server's sanitised HTML, so a `<script>` typed in the Markdown shows as text; axe-core
finds no serious or critical violation, and nothing breaks the Content-Security-Policy.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    go_to,
    open_room,
    press,
    shot,
    signed_in,
)
from web.demo import demo_slug

pytestmark = pytest.mark.browser

# Held two months before the demo is loaded; it has no verslag yet (Tijnje has one).
MEETING = demo_slug("bijeenkomst-2026-10-01-bergen-op-zoom")


def test_moderator_writes_and_publishes(
    open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """Pieter writes, previews, saves (revision 1) and publishes; anna then reads it."""
    word = f"kwelsloot{uuid.uuid4().hex[:6]}"
    tab = signed_in(open_tab, server, "pieter")
    page = tab.page
    page.goto(f"/verslag/{MEETING}")
    page.get_by_role("heading", name="Verslag schrijven").wait_for()
    press(page.get_by_role("button", name="Opzet uit de agenda"))
    box = page.get_by_label("Tekst (Markdown)")
    page.wait_for_function(
        "() => document.querySelector('.report-editor textarea').value.startsWith('# Verslag')"
    )
    box.fill(f"# Verslag\n\nWe liepen langs de **{word}**.\n\n<script>alert(1)</script>\n")
    press(page.get_by_role("button", name="Voorbeeld tonen"))
    page.locator(".report-preview strong", has_text=word).wait_for()
    assert page.locator(".report-preview script").count() == 0
    assert "<script>alert(1)</script>" in page.locator(".report-preview").inner_text()
    press(page.get_by_role("button", name="Opslaan"))
    page.get_by_text("Opgeslagen als versie 1.").wait_for()
    page.locator(".report-revisions li", has_text="Versie 1").wait_for()
    assert_accessible(tab, axe_source, "the report editor")
    shot(tab, "report-editor")
    press(page.get_by_role("button", name="Publiceren"))
    page.get_by_text("Het verslag is gepubliceerd.").wait_for()
    page.locator(".report-status", has_text="Gepubliceerd op").wait_for()
    assert page.get_by_role("button", name="Gepubliceerd").is_disabled()
    assert_accessible(tab, axe_source, "the published report, as its moderator")
    assert_clean(tab)

    reader = signed_in(open_tab, server, "anna")
    reader.page.goto(f"/verslag/{MEETING}")
    reader.page.locator(".report-body strong", has_text=word).wait_for()
    assert reader.page.locator(".report-editor").count() == 0
    assert_accessible(reader, axe_source, "the published report, as a participant")
    shot(reader, "report-published")
    # The meeting room's timeline draws the publication as a line linking to the meeting.
    open_room(reader, MEETING)
    line = reader.page.locator(".messages .event-line", has_text="Het verslag van")
    assert line.get_by_role("link").get_attribute("href") == f"/bijeenkomst/{MEETING}"
    # The search finds the word in the report, in a group "Verslagen" linking to it.
    reader.page.goto(f"/zoeken?q={word}")
    group = reader.page.locator(
        ".hit-group", has=reader.page.get_by_role("heading", name="Verslagen")
    )
    group.get_by_role("link", name="Verslag: Werkplaats").wait_for()
    assert group.locator(".snippet").inner_text().count(word) == 1
    assert_accessible(reader, axe_source, "a report found by search")
    assert_clean(reader)


def test_absent_participant_finds_the_report_first(
    open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """Marieke registered for Tijnje but was not there: Bijpraten opens with its verslag."""
    tab = signed_in(open_tab, server, "marieke")
    page = tab.page
    go_to(tab, "Bijpraten")
    first = page.locator(".catchup-body > *").first
    first.get_by_role("heading", name="Verslagen").wait_for()
    link = first.get_by_role("link").first
    assert re.fullmatch(r"Je was er niet op \d+ \w+: lees het verslag", link.inner_text())
    assert_accessible(tab, axe_source, "the catch-up with a missed meeting's report")
    shot(tab, "report-missed-catchup")
    press(link)
    page.locator(".report-body h1", has_text="Dynamisch programmeren").wait_for()
    assert page.locator(".report-editor").count() == 0
    assert_clean(tab)

"""Moderation, people by name, and Bijpraten as moderators and members use them (issue 24,
rows 9, 14 and 17): each screen is read by what a person sees, worked by keyboard, and
passes axe-core (no serious or critical violation)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.test_meetings_ui import api, post
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    go_to,
    open_menu,
    open_room,
    shot,
    signed_in,
    wait_for_message,
)

pytestmark = pytest.mark.browser

AREA = "veenweiden-aldeboarn"
DELTA = "zuidwestelijke-delta"


def test_moderation_screen_for_a_room_moderator(
    open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """Sjoerd (moderator of one area) reads a report's message with a link to it, mutes
    Marieke by name with the keyboard, lifts it with "Opheffen", and reads the audit log
    in Dutch with its values, filtered to room settings."""
    text = f"Dit bericht wordt gemeld {uuid.uuid4().hex[:6]}"
    mid = post(server, "marieke", AREA, text)
    api(server, "anna", "POST", f"/api/rooms/{AREA}/messages/{mid}/report", {"reason": "toon"})
    for seconds in (30, 0):
        api(server, "sjoerd", "PATCH", f"/api/rooms/{AREA}", {"slow_mode_seconds": seconds})

    tab = signed_in(open_tab, server, "sjoerd")
    page = tab.page
    go_to(tab, "Moderatie")
    page.get_by_role("heading", name="Moderatie", level=1).wait_for()
    row = page.locator("tr", has_text=text)
    row.wait_for()
    assert "Marieke Visser" in row.inner_text() and "Anna de Vries" in row.inner_text()
    link = row.get_by_role("link", name="Bekijken in de kamer")
    assert re.search(rf"{AREA}.*seq=\d+", link.get_attribute("href") or "")

    audit = page.locator(".mod-block").last
    audit.get_by_text("Langzame modus op 30 s").first.wait_for()
    assert audit.get_by_text("Langzame modus uit").count() >= 1
    assert "set_slow_mode_seconds" not in page.locator("main").inner_text()

    # Mute by name, keyboard only: type part of the name, take the first match with Enter.
    page.get_by_label("Kamer", exact=True).first.focus()
    page.locator("#mod-s-room").select_option(AREA)
    person = page.get_by_role("combobox", name="Persoon").first
    person.focus()
    page.keyboard.type("Marie")
    option = page.get_by_role("option", name=re.compile("Marieke Visser"))
    option.wait_for()
    assert person.get_attribute("aria-expanded") == "true"
    assert person.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert_accessible(tab, axe_source, "moderation with the person list open")
    page.keyboard.press("Enter")
    assert person.input_value() == "Marieke Visser"
    page.get_by_label("Hoe lang (minuten)").fill("45")
    page.get_by_label("Reden", exact=True).fill("even afkoelen")
    page.keyboard.press("Enter")
    sanctions = page.locator('section[aria-labelledby="mod-sanctions"]')
    muted = sanctions.locator("tbody tr", has_text="Marieke Visser").filter(
        has_text="even afkoelen"
    )
    muted.wait_for()
    # The time alone, or with the day when 45 minutes from now is tomorrow (local time).
    audit.get_by_text(re.compile(r"^Gedempt tot (.+ )?\d\d:\d\d$")).first.wait_for()
    shot(tab, "24-moderatie")
    assert_accessible(tab, axe_source, "moderation")

    muted.get_by_role("button", name=re.compile("opheffen")).click()
    muted.wait_for(state="detached")
    audit.get_by_text("Demping opgeheven").first.wait_for()

    page.locator("#audit-kind").select_option("room")
    page.get_by_role("button", name="Tonen").click()
    page.locator("#live").filter(has_text="Auditlog bijgewerkt.").wait_for()
    shown = audit.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert shown and all("Langzame modus" in t or "Onderwerp" in t or "Kamer" in t for t in shown)
    assert_clean(tab)


def test_people_picker_for_mentions_owner_and_author(
    open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """@mentions offer people by name and insert the username; the actiepunt owner and the
    search author are chosen by name; all by keyboard."""
    tab = signed_in(open_tab, server, "anna")
    page = tab.page
    open_room(tab, AREA)
    box = page.locator("#composer-input")
    box.focus()
    page.keyboard.type("Vraag voor @sjoe")
    option = page.get_by_role("option", name=re.compile("Sjoerd Hoekstra"))
    option.wait_for()
    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert_accessible(tab, axe_source, "composer with the mention list open")
    page.keyboard.press("Enter")
    assert box.input_value() == "Vraag voor @sjoerd "
    page.keyboard.press("Escape")  # nothing open: the composer keeps its text
    text = f"{box.input_value()}kun jij dit oppakken? {uuid.uuid4().hex[:6]}"
    box.fill(text)
    page.keyboard.press("Enter")
    wait_for_message(tab, text)

    open_menu(tab, text)
    wait_for_message(tab, text).first.get_by_role("button", name="Markeren als actiepunt").click()
    owner = page.get_by_role("dialog").get_by_role("combobox")
    owner.wait_for()
    page.keyboard.type("Marie")
    page.get_by_role("option", name=re.compile("Marieke Visser")).wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert owner.input_value() == "Marieke Visser"
    page.get_by_role("dialog").get_by_role("button", name="Markeren").click()
    page.get_by_role("dialog").wait_for(state="detached")
    page.locator("#live").filter(has_text="Gemarkeerd als actiepunt.").wait_for()
    events = api(server, "anna", "GET", f"/api/rooms/{AREA}/events?before=1000000&limit=20")
    marked = [e for e in events["events"] if e["type"] == "message_marked"]
    assert marked[-1]["kind"] == "actiepunt" and marked[-1]["owner"] == "marieke"

    go_to(tab, "Zoeken")
    author = page.get_by_role("combobox", name="Auteur")
    author.focus()
    page.keyboard.type("Hoeks")
    page.get_by_role("option", name=re.compile("Sjoerd Hoekstra")).wait_for()
    page.keyboard.press("Enter")
    assert author.input_value() == "Sjoerd Hoekstra"
    page.get_by_label("Zoekwoorden").fill("veen")
    page.get_by_label("Zoekwoorden").press("Enter")
    page.wait_for_url(re.compile(r"author=sjoerd"))
    assert_accessible(tab, axe_source, "search with the author picker")
    assert_clean(tab)


def test_catchup_totals_order_and_digest(
    open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """Joost's catch-up: not himself among the new members, action items in the totals,
    "Alles gelezen tot hier" after the rooms, the digest off without an address and its
    address field styled and labelled."""
    mid = post(server, "fatima", DELTA, f"Wie maakt de kaart? {uuid.uuid4().hex[:6]}")
    api(server, "fatima", "POST", f"/api/rooms/{DELTA}/messages/{mid}/mark", {"kind": "actiepunt"})
    tab = signed_in(open_tab, server, "joost")
    page = tab.page
    go_to(tab, "Bijpraten")
    page.get_by_role("heading", name="Sinds de vorige bijeenkomst", level=1).wait_for()
    totals = page.locator(".totals")
    totals.wait_for()
    assert re.search(r"\d+ actiepunt", totals.inner_text())
    main_text = page.locator("main").inner_text()
    assert "Joost Verhoeven" not in main_text
    read_all = page.get_by_role("button", name="Alles gelezen tot hier")
    assert read_all.evaluate(
        """(b) => [...document.querySelectorAll('.catchup-room')].every(
            (r) => r.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)"""
    )
    digest = page.get_by_label("Stuur mij voor elke bijeenkomst deze samenvatting per e-mail")
    digest.wait_for()
    assert not digest.is_checked()
    mail = page.get_by_label("E-mailadres voor de samenvatting")
    height = mail.evaluate("(el) => el.getBoundingClientRect().height")
    border = mail.evaluate("(el) => getComputedStyle(el).borderTopStyle")
    assert height >= 40 and border == "solid"
    digest.check()
    page.get_by_role("button", name="Opslaan").click()
    page.get_by_text("Vul een e-mailadres in om de samenvatting te ontvangen.").wait_for()
    assert mail.evaluate("(el) => el === document.activeElement")
    assert_accessible(tab, axe_source, "catch-up")
    assert_clean(tab)


def test_audit_sentences_and_mention_detection(open_tab: Callable[..., Tab]) -> None:
    """The audit log's Dutch comes from the entry's values; "@" is found before the caret."""
    tab = open_tab()
    tab.page.get_by_label("Gebruikersnaam").wait_for()
    result = tab.page.evaluate(
        """async () => {
            const { auditText } = await import('/static/js/audit.js');
            const { mentionAt } = await import('/static/js/people.js');
            const at = '2026-12-06T12:00:00Z';
            const text = (action, values) => auditText({ action, at, values });
            return {
                slow: text('set_slow_mode_seconds', { slow_mode_seconds: 30 }),
                off: text('set_slow_mode_seconds', { slow_mode_seconds: 0 }),
                mute: text('mute', { minutes: 30, until: '2026-12-06T13:30:00Z' }),
                ban: text('ban', {}),
                banLater: text('ban', { until: '2026-12-24T09:00:00Z' }),
                unknown: text('something_new', {}),
                glossaryAdd: text('glossary_add', { term: 'NPLG', means: 'Nationaal Programma' }),
                glossaryRemove: text('glossary_remove', { term: 'LVVN', means: 'ministerie' }),
                mention: mentionAt('Vraag voor @sjoe', 16),
                mail: mentionAt('mail a@b', 8),
            };
        }"""
    )
    assert result["slow"] == "Langzame modus op 30 s"
    assert result["off"] == "Langzame modus uit"
    assert result["mute"] == "Gedempt tot 14:30"
    assert result["ban"] == "Verbannen tot opheffen"
    assert result["banLater"].startswith("Verbannen tot donderdag 24 december 2026")
    assert result["unknown"] == "something_new"
    assert result["glossaryAdd"] == "Woordenlijst: “NPLG” = “Nationaal Programma” toegevoegd"
    assert result["glossaryRemove"] == "Woordenlijst: “LVVN” = “ministerie” verwijderd"
    assert result["mention"] == {"start": 11, "query": "sjoe"}
    assert result["mail"] is None

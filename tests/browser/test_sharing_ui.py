"""Sharing in the browser: a moderator makes a lesson card from selected messages, an
author agrees on "Verzoeken om te delen" (with its badge), and outsiders read /openbaar,
which passes axe and works with JavaScript off; a withdrawal removes it at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.test_meetings_ui import AREA, api, post
from tests.browser.ui import assert_accessible, assert_clean, go_to, shot, signed_in

pytestmark = pytest.mark.browser


def test_share_a_lesson_and_read_it_in_public(
    open_tab: Callable[..., Tab], browser: Any, server: Server, axe_source: Path
) -> None:
    """From the moderator's form to the public page and back off it."""
    tag = uuid.uuid4().hex[:6]
    question = f"Hoe betrekken we de melkveehouders bij het peilbesluit {tag}?"
    answer = f"Met een keukentafelgesprek per polder {tag}."
    post(server, "anna", AREA, question)
    post(server, "sjoerd", AREA, answer)
    title = f"Keukentafels bij peilbesluiten {tag}"

    mod = signed_in(open_tab, server, "pieter")
    page = mod.page
    page.goto(f"/delen/nieuw?kamer={AREA}")
    page.get_by_role("heading", name="Een les delen").wait_for()
    # Fields by role and exact name: the messages' checkboxes are labelled with their text,
    # and other tests write in this room too.
    page.get_by_label(question, exact=False).check()
    page.get_by_label(answer, exact=False).check()
    page.get_by_role("textbox", name="Titel", exact=True).fill(title)
    page.get_by_role("textbox", name="Korte tekst", exact=True).fill(
        "Praat met boeren aan hun eigen keukentafel."
    )
    page.get_by_role("textbox", name="Wat werkte", exact=True).fill("Kleine groepen per polder.")
    page.get_by_role("textbox", name="Gebied (zoals het openbaar mag heten)", exact=True).fill(
        "Friese veenweiden"
    )
    page.get_by_role("textbox", name="Thema", exact=True).fill("Water en bodem")
    page.get_by_role("checkbox", name="Waterschap", exact=True).check()
    assert_accessible(mod, axe_source, "lesson form")
    page.get_by_role("button", name="Vraag toestemming").click()
    page.get_by_role("heading", name="Verzoeken om te delen").wait_for()
    assert_clean(mod)

    author = signed_in(open_tab, server, "anna")
    badge = author.page.locator("#sharing-badge")
    badge.wait_for(state="visible")
    assert badge.inner_text().startswith("1")
    go_to(author, "Delen")
    card = author.page.locator(".share-card", has_text=title)
    card.wait_for()
    card.get_by_label("Ja, dit mag openbaar").check()
    card.get_by_label("Toon mijn naam", exact=False).check()
    shot(author, "40-verzoeken-om-te-delen")
    assert_accessible(author, axe_source, "sharing requests")
    card.get_by_role("button", name="Antwoord versturen").click()
    author.page.locator(".share-card", has_text=title).get_by_text(
        "Toestemming: 1 van 2"
    ).wait_for()
    badge.wait_for(state="hidden")

    pid = api(server, "sjoerd", "GET", "/api/publications?mine=pending")["publications"][0]["id"]
    api(server, "sjoerd", "POST", f"/api/publications/{pid}/consent", {"consent": True})

    outsider = open_tab()
    public = outsider.page
    public.goto("/openbaar")
    public.get_by_role("heading", name="Wat we leren").wait_for()
    public.get_by_role("link", name=title).wait_for()
    assert_accessible(outsider, axe_source, "/openbaar")
    public.get_by_role("link", name=title).click()
    public.get_by_role("heading", name=title).wait_for()
    assert "Anna" in public.locator(".authors").inner_text()
    assert_accessible(outsider, axe_source, "/openbaar/{id}")
    shot(outsider, "41-openbaar-les")
    assert_clean(outsider)

    no_js = browser.new_context(base_url=server.base_url, java_script_enabled=False)
    try:
        plain = no_js.new_page()
        plain.goto("/openbaar")
        plain.get_by_label("Zoeken in de gepubliceerde tekst").fill(f"keukentafel {tag}")
        plain.get_by_role("button", name="Toon publicaties").click()
        plain.get_by_text("1 publicatie gevonden").wait_for()
        plain.emulate_media(media="print")
        assert plain.locator("form.filters").is_hidden()
        plain.emulate_media(media="screen")
        plain.get_by_role("link", name=title).click()
        plain.get_by_role("heading", name=title).wait_for()
    finally:
        no_js.close()

    author.page.on("dialog", lambda dialog: dialog.accept())
    author.page.locator(".share-card", has_text=title).get_by_role(
        "button", name="Terugtrekken"
    ).click()
    author.page.locator(".share-card", has_text=title).get_by_text("Teruggetrokken").wait_for()
    assert httpx.get(f"{server.base_url}/openbaar/{pid}", timeout=10).status_code == 404
    assert_clean(author)

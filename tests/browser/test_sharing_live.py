"""Consent requests arrive live: the badge and the open page "Verzoeken om te delen"
follow a request made, and a withdrawal, without a reload; a reader busy answering keeps
what they filled in and gets a button to read the list again (by keyboard)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.test_meetings_ui import AREA, api, post, token
from tests.browser.ui import assert_accessible, assert_clean, go_to, signed_in

pytestmark = pytest.mark.browser


def offer(server: Server, tag: str, message_id: int) -> int:
    """A moderator offers a lesson quoting anna's message; returns its id."""
    body: dict[str, Any] = {
        "kind": "lesson",
        "title": f"Live verzoek {tag}",
        "body": "Een korte les.",
        "room": AREA,
        "message_ids": [message_id],
    }
    made: int = api(server, "pieter", "POST", "/api/publications", body)["publication"]["id"]
    return made


def withdraw(server: Server, publication_id: int) -> None:
    r = httpx.delete(
        f"{server.base_url}/api/publications/{publication_id}",
        headers={"Authorization": f"Bearer {token(server, 'pieter')}"},
        timeout=10,
    )
    assert r.status_code == 204, r.text


def test_requests_arrive_without_a_reload(
    open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    first = post(server, "anna", AREA, f"Wat werkte bij de schouw {tag}?")
    second = post(server, "anna", AREA, f"En wat niet {tag}?")
    author = signed_in(open_tab, server, "anna")
    page = author.page
    go_to(author, "Delen")
    page.get_by_role("heading", name="Verzoeken om te delen").wait_for()
    badge = page.locator("#sharing-badge")
    before = len(api(server, "anna", "GET", "/api/publications?mine=pending")["publications"])
    page.evaluate("window.__notReloaded = true")

    one = offer(server, f"{tag}-1", first)
    card = page.locator(".share-card", has_text=f"Live verzoek {tag}-1")
    card.wait_for()
    badge.wait_for(state="visible")
    page.wait_for_function(
        "n => document.getElementById('sharing-badge').textContent.startsWith(String(n))",
        arg=before + 1,
    )
    assert page.locator("#live").get_by_text("Er is een nieuw verzoek om te delen.").count()

    # Busy answering (by keyboard): a second request does not wipe the choice.
    card.get_by_label("Ja, dit mag openbaar").focus()
    page.keyboard.press("Space")
    two = offer(server, f"{tag}-2", second)
    update = page.get_by_role("button", name="Lijst bijwerken")
    update.wait_for()
    page.wait_for_function(
        "n => document.getElementById('sharing-badge').textContent.startsWith(String(n))",
        arg=before + 2,
    )
    assert card.get_by_label("Ja, dit mag openbaar").is_checked()
    assert_accessible(author, axe_source, "sharing requests with a live change")
    update.focus()
    page.keyboard.press("Enter")
    page.locator(".share-card", has_text=f"Live verzoek {tag}-2").wait_for()
    assert page.evaluate("document.activeElement.tagName") == "H1"

    # Withdrawn elsewhere: gone from the badge and the open page at once.
    withdraw(server, two)
    page.locator(".share-card", has_text=f"Live verzoek {tag}-2").get_by_text(
        "Teruggetrokken"
    ).wait_for()
    page.wait_for_function(
        "n => document.getElementById('sharing-badge').textContent.startsWith(String(n))",
        arg=before + 1,
    )
    withdraw(server, one)
    if before == 0:
        badge.wait_for(state="hidden")
    assert page.evaluate("window.__notReloaded") is True
    assert re.search(r"/delen$", page.url)
    assert_clean(author)

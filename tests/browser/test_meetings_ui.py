"""Between meetings in the browser: the catch-up page, the overview, and marking a decision.

Each screen renders in Dutch, passes axe-core (no serious or critical violation), keeps to
the Content-Security-Policy, and is saved as a screenshot.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.browser.conftest import Server, Tab
from tests.browser.ui import assert_accessible, assert_clean, go_to, shot, signed_in

pytestmark = pytest.mark.browser

AREA = "veenweiden-aldeboarn"


def token(server: Server, username: str) -> str:
    r = httpx.post(
        f"{server.base_url}/api/session",
        json={"username": username, "password": server.logins[username]},
        timeout=10,
    )
    r.raise_for_status()
    found: str = r.json()["token"]
    return found


def post(server: Server, username: str, room: str, body: str) -> int:
    """Post one message through a plain WebSocket client; returns its message id."""
    url = server.base_url.replace("http://", "ws://") + "/ws"
    auth = {"Authorization": f"Bearer {token(server, username)}"}
    client_id = uuid.uuid4().hex
    with connect(url, additional_headers=auth) as ws:
        ws.send(json.dumps({"type": "send", "room": room, "body": body, "client_id": client_id}))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in str(ws.recv(timeout=10)).split("\n"):
                frame = json.loads(line) if line else {}
                if frame.get("type") == "ack" and frame.get("client_id") == client_id:
                    message_id: int = frame["message_id"]
                    return message_id
                assert frame.get("type") != "error", frame
    raise AssertionError("no ack")


def api(server: Server, username: str, method: str, path: str, body: Any = None) -> Any:
    r = httpx.request(
        method,
        f"{server.base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token(server, username)}"},
        timeout=10,
    )
    assert r.is_success, r.text
    return r.json()


def test_catchup_page(open_tab: Callable[..., Tab], server: Server, axe_source: Path) -> None:
    """The catch-up lists anna's mention, the open question and the next meeting's agenda;
    "Alles gelezen tot hier" reads all; the digest e-mail is turned off on the same page."""
    meeting = {
        "slug": f"bijeenkomst-{uuid.uuid4().hex[:6]}",
        "title": "Werkplaats 14 januari: Werken als één overheid",
        "theme": "werken-als-een-overheid",
        "date": "2027-01-14",
        "place": "Provinciehuis, Leeuwarden",
    }
    api(server, "beheer", "POST", "/api/meetings", meeting)
    text = f"@anna kun jij de peilbesluiten nalopen? {uuid.uuid4().hex[:6]}"
    mid = post(server, "marieke", AREA, text)
    api(server, "marieke", "POST", f"/api/rooms/{AREA}/messages/{mid}/mark", {"kind": "vraag"})
    tab = signed_in(open_tab, server, "anna")
    page = tab.page
    go_to(tab, "Bijpraten")
    page.get_by_role("heading", name="Sinds de vorige bijeenkomst", level=1).wait_for()
    room = page.locator(".catchup-room", has_text="Friese Veenweiden")
    room.get_by_role("heading", name="Vermeldingen van jou").wait_for()
    assert room.get_by_role("link", name=text, exact=False).count() == 2
    agenda = page.get_by_role("heading", name="Open vragen en actiepunten voor de bijeenkomst van")
    agenda.wait_for()
    assert page.locator(".catchup-agenda").get_by_role("link", name=text, exact=False).count() == 1
    assert page.get_by_role("link", name="Agenda downloaden (Markdown)").count() == 0
    main_text = page.locator("main").inner_text()
    assert "Vorige bijeenkomst: Werkplaats " in main_text and "Dynamisch programmeren" in main_text
    shot(tab, "20-bijpraten")
    assert_accessible(tab, axe_source, "catch-up")

    page.get_by_label("Stuur mij voor elke bijeenkomst deze samenvatting per e-mail").uncheck()
    page.get_by_label("E-mailadres").fill("anna@example.nl")
    page.get_by_role("button", name="Opslaan").click()
    page.locator("#live").filter(has_text="Je instellingen zijn opgeslagen.").wait_for()
    prefs = api(server, "anna", "GET", "/api/me/preferences")["preferences"]
    assert prefs == {"digest": False, "email": "anna@example.nl"}

    page.get_by_role("button", name="Alles gelezen tot hier").click()
    page.get_by_role("button", name="Alles gelezen tot hier").wait_for(state="detached")
    rooms = api(server, "anna", "GET", "/api/rooms")["rooms"]
    assert all(r["unread"] == 0 for r in rooms if r["slug"] == AREA)
    page.get_by_label("Sinds mijn vorige bezoek").check()
    page.get_by_text("Niets nieuws. Je bent bij.").or_(
        page.locator(".catchup-room")
    ).first.wait_for()
    assert_clean(tab)


def test_overview_page(open_tab: Callable[..., Tab], server: Server, axe_source: Path) -> None:
    """Areas × themes with counts, and per question the layers that have not answered yet."""
    mid = post(server, "sjoerd", AREA, f"Wie neemt het peilbeheer op zich? {uuid.uuid4().hex[:6]}")
    api(server, "sjoerd", "POST", f"/api/rooms/{AREA}/messages/{mid}/mark", {"kind": "vraag"})
    tab = signed_in(open_tab, server, "anna")
    page = tab.page
    go_to(tab, "Overzicht")
    page.get_by_role("heading", name="Overzicht gebieden en thema’s").wait_for()
    table = page.get_by_role("table")
    table.get_by_role("rowheader", name="Friese Veenweiden: Aldeboarn / De Deelen").wait_for()
    table.get_by_role("columnheader", name="Werken als één overheid").wait_for()
    page.locator(".question-layers .notice").first.wait_for()
    assert "nog geen reactie van" in page.locator(".question-layers").inner_text()
    shot(tab, "21-overzicht-gebieden-thema")
    assert_accessible(tab, axe_source, "overview")
    assert_clean(tab)


def test_mark_a_decision(open_tab: Callable[..., Tab], server: Server, axe_source: Path) -> None:
    """A member marks a message as besluit from its actions menu; it is a room event."""
    text = f"We kiezen voor plas-dras langs de vaart {uuid.uuid4().hex[:6]}"
    mid = post(server, "sjoerd", AREA, text)
    tab = signed_in(open_tab, server, "anna")
    page = tab.page
    page.locator(f'#sidebar a[data-slug="{AREA}"]').first.click()
    message = page.locator(".messages article.msg", has_text=text)
    message.wait_for()
    message.locator(".msg-menu-toggle").click()
    message.get_by_role("button", name="Markeren als besluit").click()
    page.locator("#live").filter(has_text="Gemarkeerd als besluit").wait_for()
    events = api(server, "anna", "GET", f"/api/rooms/{AREA}/events?before=1000000&limit=20")
    marked = [e for e in events["events"] if e["type"] == "message_marked"]
    assert marked and marked[-1]["message_id"] == mid and marked[-1]["kind"] == "besluit"
    assert marked[-1]["by"] == "anna"
    shot(tab, "22-besluit-gemarkeerd")
    assert_accessible(tab, axe_source, "room after marking")
    catchup = api(server, "anna", "GET", "/api/catchup")
    decisions = [d for r in catchup["rooms"] for d in r["decisions"]]
    assert mid in [d["message_id"] for d in decisions]
    assert_clean(tab)

"""The mark buttons of a message's actions menu: answer a vraag with a reply, move an
actiepunt to gedaan, take a mark away, and tag a message with a theme. Each is a room event,
said by the live region; the room passes axe and keeps to the CSP. One page for all four."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.browser.conftest import Server, Tab
from tests.browser.test_meetings_ui import api, token
from tests.browser.ui import assert_accessible, assert_clean, open_room, press, signed_in

pytestmark = pytest.mark.browser

AREA = "veenweiden-aldeboarn"
THEME = "werken-als-een-overheid"


def post(server: Server, username: str, body: str, reply_to: int | None = None) -> int:
    """One message in the area room through a plain WebSocket client; its message id."""
    url = server.base_url.replace("http://", "ws://") + "/ws"
    client_id = uuid.uuid4().hex
    frame: dict[str, Any] = {"type": "send", "room": AREA, "body": body, "client_id": client_id}
    if reply_to is not None:
        frame["reply_to"] = reply_to
    auth = {"Authorization": f"Bearer {token(server, username)}"}
    with connect(url, additional_headers=auth) as ws:
        ws.send(json.dumps(frame))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in str(ws.recv(timeout=10)).split("\n"):
                got = json.loads(line) if line else {}
                assert got.get("type") != "error", got
                if got.get("type") == "ack" and got.get("client_id") == client_id:
                    message_id: int = got["message_id"]
                    return message_id
    raise AssertionError("no ack")


def events_of(server: Server, kind: str) -> list[dict[str, Any]]:
    found = api(server, "sjoerd", "GET", f"/api/rooms/{AREA}/events?before=1000000&limit=50")
    return [e for e in found["events"] if e["type"] == kind]


def act(tab: Tab, text: str, button: str, said: str) -> None:
    """Open the menu of the message with `text`, press `button`, wait for the live region."""
    message = tab.page.locator(".messages article.msg", has_text=text).first
    press(message.locator(".msg-menu-toggle"))
    press(message.get_by_role("button", name=button))
    tab.page.locator("#live").filter(has_text=said).wait_for()


def test_answer_close_unmark_and_tag(
    open_tab: Callable[..., Tab], server: Server, axe_source: Path
) -> None:
    """Sjoerd (moderator) marks marieke's reply as the answer, closes anna's actiepunt,
    unmarks a vraag and tags a message with a theme, all from the menus."""
    tag = uuid.uuid4().hex[:6]
    question = f"Wie kent de peilregels van 2019? {tag}"
    qid = post(server, "anna", question)
    api(server, "anna", "POST", f"/api/rooms/{AREA}/messages/{qid}/mark", {"kind": "vraag"})
    reply = f"Die staan in het peilbesluit, bijlage B. {tag}"
    rid = post(server, "marieke", reply, reply_to=qid)
    action = f"Anna stuurt de kaart rond. {tag}"
    aid = post(server, "sjoerd", action)
    mark = {"kind": "actiepunt", "owner": "anna"}
    api(server, "sjoerd", "POST", f"/api/rooms/{AREA}/messages/{aid}/mark", mark)
    loose = f"Los idee: één loket voor de boer. {tag}"
    lid = post(server, "marieke", loose)
    api(server, "marieke", "POST", f"/api/rooms/{AREA}/messages/{lid}/mark", {"kind": "vraag"})

    tab = signed_in(open_tab, server, "sjoerd")
    open_room(tab, AREA, live=True)
    tab.page.locator(".messages article.msg", has_text=reply).wait_for()

    act(tab, reply, "Dit beantwoordt de vraag", "De vraag is als beantwoord gemarkeerd.")
    answered = [e for e in events_of(server, "question_answered") if e["message_id"] == qid]
    assert answered and answered[-1]["reply_id"] == rid

    act(tab, action, "Actiepunt: gedaan", "Actiepunt: gedaan.")
    status = [e for e in events_of(server, "action_status_changed") if e["message_id"] == aid]
    assert status and status[-1]["status"] == "gedaan"

    act(tab, loose, "Markering weghalen", "Markering weggehaald.")
    assert [e for e in events_of(server, "message_unmarked") if e["message_id"] == lid]

    message = tab.page.locator(".messages article.msg", has_text=loose).first
    press(message.locator(".msg-menu-toggle"))
    press(message.get_by_role("button", name="Thema's kiezen"))
    dialog = tab.page.get_by_role("dialog")
    press(dialog.get_by_label("Werken als één overheid"), "Space")
    assert_accessible(tab, axe_source, "theme dialog")
    press(dialog.get_by_role("button", name="Opslaan"))
    tab.page.locator("#live").filter(has_text="Thema's opgeslagen.").wait_for()
    tagged = [e for e in events_of(server, "message_tagged") if e["message_id"] == lid]
    assert tagged and tagged[-1]["themes"] == [THEME]
    assert_accessible(tab, axe_source, "room after the marks")
    assert_clean(tab)

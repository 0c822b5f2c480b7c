"""What a participant does in the web client, as small steps the browser tests combine."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.browser.conftest import ARTIFACTS, HTMLCS_JS, Server, Tab

SERIOUS = ("serious", "critical")


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def login(tab: Tab, username: str, password: str) -> None:
    """Sign in through the login form."""
    page = tab.page
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    wait_signed_in(tab)


def wait_signed_in(tab: Tab) -> None:
    # On small screens the menu is folded behind "Menu": signed in, it is no longer hidden.
    tab.page.locator("#topnav:not([hidden])").wait_for(state="attached")
    tab.page.locator("#sidebar .room-link").first.wait_for(state="attached")


def signed_in(open_tab: Callable[..., Tab], server: Server, username: str, **tab: Any) -> Tab:
    """A fresh tab of a demo user, signed in through the API (`login` is the form's way)."""
    opened = open_tab(signed_in_as=(username, server.logins[username]), **tab)
    wait_signed_in(opened)
    return opened


def in_room(open_tab: Callable[..., Tab], server: Server, slug: str, *usernames: str) -> list[Tab]:
    """A tab per user, each signed in and live in the room."""
    tabs = [signed_in(open_tab, server, username) for username in usernames]
    for tab in tabs:
        open_room(tab, slug, live=True)
    return tabs


def go_to(tab: Tab, screen: str) -> None:
    """Follow a link of the top navigation ("Gesprekken", "Zoeken", "Moderatie", ...)."""
    link = tab.page.locator("#topnav").get_by_role("link", name=screen)
    if not link.is_visible():
        tab.page.get_by_role("button", name="Menu").click()
    link.click()


def open_room(tab: Tab, slug: str, live: bool = False) -> None:
    """Open a room from the sidebar; with `live`, wait until it is subscribed."""
    page = tab.page
    page.locator(f'#sidebar a[data-slug="{slug}"]').first.click()
    page.locator("#composer-input").wait_for()
    page.locator(".history-top .btn, .history-top p:not(:has-text('laden'))").first.wait_for()
    if live:
        wait_connected(tab)


def wait_connected(tab: Tab, timeout: int = 10_000) -> None:
    """The open room is live: the server answered `subscribe` with `subscribed`."""
    tab.page.locator('.timeline[data-live="true"]').wait_for(timeout=timeout)


def send(tab: Tab, text: str) -> None:
    box = tab.page.locator("#composer-input")
    box.fill(text)
    box.press("Enter")


def open_menu(tab: Tab, text: str) -> None:
    """Open the actions menu of the message with this text, once it is shown."""
    wait_for_message(tab, text).first.locator(".msg-menu-toggle").click()


def press(control: Any, key: str = "Enter") -> None:
    """Work a control with the keyboard alone: focus it, then press `key`."""
    control.focus()
    control.page.keyboard.press(key)


def submit_dialog(tab: Tab, button: str, fields: dict[str, str | bool]) -> None:
    """Fill the open dialog (text by label; a bool sets a box), press `button`, wait it out;
    by keyboard only."""
    dialog = tab.page.get_by_role("dialog")
    for label, value in fields.items():
        field = dialog.get_by_label(label)
        if isinstance(value, bool):
            if field.is_checked() != value:
                press(field, "Space")
        else:
            field.fill(value)
    press(dialog.get_by_role("button", name=button))
    dialog.wait_for(state="detached")


def room_settings(tab: Tab, fields: dict[str, str | bool]) -> None:
    """Change the open room's settings through the moderator's "Kamerbeheer" dialog."""
    tab.page.get_by_role("button", name="Kamerbeheer").click()
    submit_dialog(tab, "Opslaan", fields)


def message_bodies(tab: Tab) -> list[str]:
    """The texts of the confirmed messages in the open room, in page order."""
    result: list[str] = tab.page.locator(".messages article.msg .body").all_inner_texts()
    return result


def wait_for_message(tab: Tab, text: str, timeout: int = 10_000) -> Any:
    loc = tab.page.locator(".messages article.msg", has_text=text)
    loc.first.wait_for(timeout=timeout)
    return loc


def shot(tab: Tab, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    tab.page.screenshot(path=str(path), full_page=False)
    return path


def axe_violations(tab: Tab, axe_js: Path) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    page = tab.page
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # The page's CSP refuses inline <script> (add_script_tag), and rightly so; an
        # evaluation through the DevTools protocol is not page script and is allowed.
        page.evaluate(axe_js.read_text(encoding="utf-8") + "\n;void 0")
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in SERIOUS]


def htmlcs_errors(tab: Tab) -> list[dict[str, str]]:
    """HTML_CodeSniffer's errors for WCAG 2 AA on the page as it is now (warnings left out)."""
    page = tab.page
    if not page.evaluate("() => typeof window.HTMLCS !== 'undefined'"):
        # Through the DevTools protocol, as axe: the CSP refuses the page an inline script.
        page.evaluate(HTMLCS_JS.read_text(encoding="utf-8") + "\n;void 0")
    found: list[dict[str, str]] = page.evaluate(
        """() => new Promise((done, fail) => {
            HTMLCS.process('WCAG2AA', document, () => done(HTMLCS.getMessages()
                .filter((m) => m.type === HTMLCS.ERROR)
                .map((m) => ({
                    code: m.code, msg: m.msg,
                    element: m.element && m.element.outerHTML
                        ? m.element.outerHTML.slice(0, 160) : String(m.element),
                }))), fail, 'en');
        })"""
    )
    return found


def assert_accessible(tab: Tab, axe_js: Path, screen: str) -> None:
    """No serious or critical axe violation, and no HTML_CodeSniffer WCAG2AA error."""
    bad = axe_violations(tab, axe_js)
    assert not bad, f"axe on {screen}:\n" + json.dumps(bad, indent=2, ensure_ascii=False)
    errors = htmlcs_errors(tab)
    assert not errors, f"HTML_CodeSniffer on {screen}:\n" + json.dumps(
        errors, indent=2, ensure_ascii=False
    )


def assert_clean(tab: Tab) -> None:
    """No script error and no Content-Security-Policy refusal happened in the page."""
    assert not tab.problems, "\n".join(tab.problems)


def slug_re(slug: str) -> re.Pattern[str]:
    return re.compile(rf"/kamer/{re.escape(slug)}")


def post_many(server: Server, username: str, room: str, texts: list[str]) -> None:
    """Post messages through a plain WebSocket client (no browser), each acknowledged.

    Sent in windows of up to 50 unacknowledged frames (the test server's send and frame
    buckets are generous), so hundreds of messages take a second, not one round trip each.
    """
    login = httpx.post(
        f"{server.base_url}/api/session",
        json={"username": username, "password": server.logins[username]},
        headers={"Origin": server.base_url},
        timeout=10,
    )
    login.raise_for_status()
    token = login.json()["token"]
    url = server.base_url.replace("http://", "ws://") + "/ws"
    tag = uuid.uuid4().hex[:12]
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        for start in range(0, len(texts), 50):
            waiting: dict[str, str] = {}
            for n in range(start, min(start + 50, len(texts))):
                client_id = f"bulk-{n}-{tag}"
                waiting[client_id] = json.dumps(
                    {"type": "send", "room": room, "body": texts[n], "client_id": client_id}
                )
                ws.send(waiting[client_id])
            while waiting:
                lines = str(ws.recv(timeout=10)).split("\n")
                for f in (json.loads(line) for line in lines if line):
                    assert f.get("type") != "error", f
                    if f.get("type") == "ack":
                        waiting.pop(f.get("client_id"), None)


def wait_read_to_end(tab: Tab, slug: str, timeout: float = 10.0) -> None:
    """Until the server has the user's read marker at the room's last seq."""
    # Polled from Python: wait_for_function would take the Promise of an async
    # predicate for a truthy answer.
    deadline = time.monotonic() + timeout
    while True:
        room = tab.page.evaluate(
            """async (slug) => {
                const res = await fetch('/api/rooms');
                return (await res.json()).rooms.find((r) => r.slug === slug);
            }""",
            slug,
        )
        if room and room["read_seq"] >= room["last_seq"]:
            return
        assert time.monotonic() < deadline, f"read marker not at the end of {slug}: {room}"
        time.sleep(0.25)

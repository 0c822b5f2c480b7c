"""Live behaviour in real browsers against a real server: two people chatting, a network
loss with catch-up, moderation reaching another participant, keyboard-only use, safe
rendering of message text, and read markers that follow a user across tabs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    go_to,
    in_room,
    login,
    message_bodies,
    open_menu,
    open_room,
    post_many,
    room_settings,
    send,
    shot,
    signed_in,
    submit_dialog,
    unique,
    wait_connected,
    wait_for_message,
    wait_read_to_end,
)
from web.demo import demo_slug

pytestmark = pytest.mark.browser

THEME = "werken-als-een-overheid"
AREA = "veenweiden-aldeboarn"


def test_two_users_chat_live(open_tab, server: Server, axe_source: Path) -> None:
    """A message from one browser appears live in the other, with author and layer badge."""
    anna, bram = in_room(open_tab, server, THEME, "anna", "bram")

    # Plain sentences (each used once per test session): this screen goes into the docs.
    hello = "Goedemorgen! Zijn de mandaatafspraken van Fryslân al op papier gezet?"
    send(anna, hello)
    msg = wait_for_message(bram, hello)
    assert "Anna de Vries" in msg.first.inner_text()
    assert msg.first.locator(".badge-waterschap").count() == 1

    bram.page.locator("#composer-input").press_sequentially("Goed", delay=20)
    anna.page.locator(".typing", has_text="Bram Peeters typt").wait_for()
    answer = "Ja, ik stuur ze vanmiddag rond. Zie ook https://example.org/mandaten"
    bram.page.locator("#composer-input").fill(answer)
    bram.page.locator("#composer-input").press("Enter")
    wait_for_message(anna, answer)
    assert message_bodies(anna).count(answer) == 1
    assert message_bodies(bram).count(hello) == 1
    anna.page.locator(".pending-list article").first.wait_for(state="detached")
    shot(anna, "04-gesprek-live")
    assert_accessible(anna, axe_source, "room after a live conversation")
    assert_clean(anna)
    assert_clean(bram)


def test_presence_shows_who_is_online(open_tab, server: Server) -> None:
    """Someone opening the room shows up in the other's online list."""
    anna, _bram = in_room(open_tab, server, THEME, "anna", "bram")
    anna.page.locator(".presence summary").click()
    anna.page.locator(".presence-list li", has_text="Bram Peeters").wait_for()


def test_offline_and_back_shows_every_message_once_in_order(open_tab, server: Server) -> None:
    """After a network loss the client catches up without gaps or duplicates, and its own
    message written while offline is delivered once."""
    anna, bram = in_room(open_tab, server, THEME, "anna", "bram")
    before = unique("Voor de storing")
    send(anna, before)
    wait_for_message(bram, before)

    bram.context.set_offline(True)
    bram.page.locator("#connection", has_text="offline").wait_for()
    sent = [unique(f"Tijdens de storing {i}") for i in range(1, 6)]
    for text in sent:
        send(anna, text)
        wait_for_message(anna, text)
    mine = unique("Geschreven zonder netwerk")
    send(bram, mine)
    bram.page.locator(".pending-list article", has_text=mine).wait_for()
    bram.page.locator(".pending-status", has_text="Wordt verzonden").wait_for()
    shot(bram, "10-offline-in-wachtrij")

    bram.context.set_offline(False)
    wait_for_message(bram, sent[-1], timeout=20_000)
    wait_for_message(bram, mine, timeout=20_000)
    wait_for_message(anna, mine, timeout=20_000)
    bram.page.locator(".pending-list article").first.wait_for(state="detached")

    bodies = message_bodies(bram)
    for text in [before, *sent, mine]:
        assert bodies.count(text) == 1, f"{text!r} shown {bodies.count(text)} times"
    positions = [bodies.index(t) for t in [before, *sent, mine]]
    assert positions == sorted(positions), "messages out of order after catching up"
    seqs = [
        int(s)
        for s in bram.page.locator(".messages article.msg").evaluate_all(
            "els => els.map(e => e.dataset.seq)"
        )
    ]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert message_bodies(anna).count(mine) == 1
    assert_clean(bram)


def test_moderator_hides_a_message_for_everyone(open_tab, server: Server) -> None:
    """A moderator hides a message; it disappears live for the other participant."""
    anna, pieter = in_room(open_tab, server, THEME, "anna", "pieter")
    rude = unique("Dit bericht gaat te ver")
    send(anna, rude)
    msg = wait_for_message(pieter, rude)
    wait_for_message(anna, rude)

    msg.first.locator(".msg-menu-toggle").click()
    pieter.page.get_by_role("button", name="Verbergen (moderatie)").click()
    dialog = pieter.page.get_by_role("dialog")
    dialog.get_by_label("Reden").fill("Persoonlijke aanval")
    shot(pieter, "11-moderator-verbergen")
    dialog.get_by_role("button", name="Verbergen").click()
    dialog.wait_for(state="detached")

    anna.page.locator(".messages article.msg", has_text=rude).wait_for(state="detached")
    hidden = anna.page.locator(".messages article.msg-hidden .body-hidden")
    hidden.filter(has_text=re.compile("bericht verborgen")).first.wait_for()
    assert rude not in anna.page.locator(".messages").inner_text()
    assert_clean(anna)
    assert_clean(pieter)


def test_keyboard_only_login_and_send(open_tab, server: Server) -> None:
    """Login, choosing a room and sending a message work with the keyboard alone."""
    tab = open_tab()
    page = tab.page
    kb = page.keyboard
    page.get_by_label("Gebruikersnaam").wait_for()
    assert page.evaluate("document.activeElement.id") == "login-username"
    kb.type("marieke")
    kb.press("Tab")
    kb.type(server.logins["marieke"])
    kb.press("Enter")
    page.locator("#topnav").wait_for(state="visible")

    def tab_to(selector: str, limit: int = 60, back: bool = False) -> None:
        for _ in range(limit):
            kb.press("Shift+Tab" if back else "Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                outline = page.evaluate(
                    "() => getComputedStyle(document.activeElement).outlineStyle"
                )
                assert outline != "none", f"no visible focus on {selector}"
                return
        raise AssertionError(f"could not reach {selector} with Tab")

    tab_to(f'#sidebar a[data-slug="{AREA}"]')
    kb.press("Enter")
    page.locator("#composer-input").wait_for()
    wait_connected(tab)
    tab_to("#composer-input")
    text = unique("Met alleen het toetsenbord")
    kb.type(text)
    kb.press("Enter")
    wait_for_message(tab, text)
    page.locator(".pending-list article").first.wait_for(state="detached")

    # Reply to it through its actions menu, still without a mouse.
    tab_to(".messages article.msg:last-child .msg-menu-toggle", back=True)
    kb.press("Enter")
    assert page.evaluate("document.activeElement.textContent") == "Beantwoorden"
    kb.press("Enter")
    assert page.evaluate("document.activeElement.id") == "composer-input"
    reply = unique("Antwoord met het toetsenbord")
    kb.type(reply)
    kb.press("Enter")
    wait_for_message(tab, reply).first.locator(".reply-ref", has_text=text).wait_for()
    assert_clean(tab)


def test_message_text_is_never_markup(open_tab, server: Server) -> None:
    """Markup in a message shows as text; links get rel=noopener noreferrer; breaks stay."""
    anna, bram = in_room(open_tab, server, THEME, "anna", "bram")
    marker = unique("opmaak")
    evil = f'{marker} <img src=x onerror="window.pwned=1"><b>vet</b>\nregel twee https://example.org/pad?a=1&b=2.'
    send(anna, evil)
    msg = wait_for_message(bram, marker).first
    body = msg.locator(".body")
    assert body.locator("img, b").count() == 0
    assert "<img src=x" in body.inner_text()
    assert "\n" in body.inner_text()
    link = body.locator("a")
    assert link.get_attribute("href") == "https://example.org/pad?a=1&b=2"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert link.get_attribute("target") == "_blank"
    assert not bram.page.evaluate("() => window.pwned === 1")
    storage = bram.page.evaluate("() => [{...localStorage}, {...sessionStorage}]")
    # Only who was signed in (for the offline shell, js/outbox.js): no token, no e-mail.
    assert storage[1] == {} and set(storage[0]) <= {"werkplaats:gebruiker"}, storage
    assert set(json.loads(storage[0].get("werkplaats:gebruiker", "{}"))) <= {
        "username",
        "display_name",
        "organisation",
        "layer",
        "role",
    }, storage


def test_read_marker_follows_the_user_across_tabs(open_tab, server: Server) -> None:
    """Reading a room in one tab clears its unread count in the user's other tab."""
    joost_home = signed_in(open_tab, server, "joost")
    writer = signed_in(open_tab, server, "anna")
    open_room(writer, THEME, live=True)
    # A second tab in the same browser context shares the session cookie.
    joost_room = open_tab(context=joost_home.context)
    joost_room.page.locator("#sidebar .room-link").first.wait_for()

    send(writer, unique("Nieuws voor het thema"))
    wait_for_message(writer, "Nieuws voor het thema")
    joost_home.page.reload()
    unread = joost_home.page.locator(f'#sidebar a[data-slug="{THEME}"] .unread-count')
    unread.wait_for()

    open_room(joost_room, THEME, live=True)
    # The room opens at the first unread message; reading to the end is the user's move.
    joost_room.page.locator(".timeline").focus()
    joost_room.page.keyboard.press("End")
    unread.wait_for(state="detached", timeout=15_000)
    assert_clean(joost_home)
    assert_clean(joost_room)


def test_reply_edit_and_retract(open_tab, server: Server) -> None:
    """Replies quote their parent; edits and retractions reach the other participant live."""
    anna, bram = in_room(open_tab, server, THEME, "anna", "bram")
    first = unique("Eerste versie")
    send(anna, first)
    open_menu(anna, first)

    bram_copy = wait_for_message(bram, first).first
    bram_copy.locator(".msg-menu-toggle").click()
    bram.page.get_by_role("button", name="Beantwoorden").click()
    bram.page.locator(".composer-context", has_text="Antwoord op Anna de Vries").wait_for()
    reply = unique("Mijn antwoord")
    send(bram, reply)
    wait_for_message(anna, reply).first.locator(".reply-ref", has_text=first).wait_for()

    anna.page.keyboard.press("Escape")
    own = anna.page.locator(".messages article.msg", has_text=first).first
    own.locator(".msg-menu-toggle").click()
    anna.page.get_by_role("button", name="Bewerken").click()
    box = anna.page.locator("#composer-input")
    assert box.input_value() == first
    edited = unique("Verbeterde versie")
    box.fill(edited)
    box.press("Enter")
    changed = wait_for_message(bram, edited).first
    changed.locator(".edited").wait_for()
    assert message_bodies(bram).count(edited) == 1

    anna.page.locator(".messages article.msg", has_text=edited).first.locator(
        ".msg-menu-toggle"
    ).click()
    anna.page.get_by_role("button", name="Intrekken").click()
    anna.page.get_by_role("dialog").get_by_role("button", name="Intrekken").click()
    # Bram's reply quotes the parent, so look at message bodies only.
    bram.page.locator(".messages .body", has_text=edited).wait_for(state="detached")
    bram.page.locator(".reply-ref", has_text="verborgen bericht").first.wait_for()
    bram.page.locator(".body-hidden", has_text="bericht ingetrokken").first.wait_for()
    assert_clean(anna)
    assert_clean(bram)


def test_muted_and_locked_show_dutch_refusals(open_tab, server: Server) -> None:
    """A muted participant sees why a message was not sent; a lock closes the composer live."""
    room = demo_slug("bijeenkomst-2026-11-28-tijnje")
    fatima, pieter = in_room(open_tab, server, room, "fatima", "pieter")
    hello = unique("Ik ben er bij in Tijnje")
    send(fatima, hello)
    open_menu(pieter, hello)
    pieter.page.get_by_role("button", name="Fatima").filter(has_text="dempen").click()
    submit_dialog(pieter, "Dempen", {"Hoe lang (minuten)": "5", "Reden": "Even afkoelen"})

    # Said before a send can fail: the box is off, with the end of the mute.
    fatima.page.locator("#composer-state", has_text="Je bent gedempt tot").wait_for()
    assert fatima.page.locator("#composer-input").is_disabled()
    shot(fatima, "12-gedempt")

    room_settings(
        pieter,
        {"Gesloten (alleen lezen)": True, "Reden (komt in het auditlog)": "Bijeenkomst afgelopen"},
    )
    fatima.page.locator(".room-flags", has_text="Gesloten").wait_for()
    assert fatima.page.locator("#composer-input").is_disabled()

    room_settings(pieter, {"Gearchiveerd": True})
    archive = pieter.page.locator("#sidebar details.archived")
    archive.locator("summary", has_text="Gearchiveerd").wait_for()
    assert archive.locator(f'a[data-slug="{room}"]').count() == 1
    fatima.page.locator(".room-flags", has_text="Gearchiveerd").wait_for()
    assert_clean(fatima)
    assert_clean(pieter)


def test_long_absence_is_backfilled_without_gaps(open_tab, server: Server) -> None:
    """Missing more than the server's backlog cap: `truncated`, then backfill over HTTP;
    every message shows once, in seq order."""
    room = "dynamisch-programmeren"
    bram = open_tab()
    subscribed: list[dict[str, object]] = []

    def watch(ws: Any) -> None:
        def on_frame(payload: str | bytes) -> None:
            for line in str(payload).split("\n"):
                if '"subscribed"' in line:
                    subscribed.append(json.loads(line))

        ws.on("framereceived", on_frame)

    bram.page.on("websocket", watch)
    login(bram, "bram", server.logins["bram"])
    open_room(bram, room, live=True)
    # At the newest: the window follows the end, the oldest messages leaving it.
    bram.page.locator(".timeline").focus()
    bram.page.keyboard.press("End")
    wait_read_to_end(bram, room)
    bram.context.set_offline(True)
    bram.page.locator("#connection", has_text="offline").wait_for()
    texts = [f"Stap {n:03d} van het programma" for n in range(1, 531)]
    post_many(server, "joost", room, texts)
    bram.context.set_offline(False)
    wait_for_message(bram, texts[-1], timeout=30_000)
    # The timeline is a window (test_window.py): the newest are shown, the rest is a
    # page or more up; together every message once, in seq order.
    seen: list[str] = []
    for _ in range(30):
        bodies = [b for b in message_bodies(bram) if b.startswith("Stap ")]
        seen = bodies + [b for b in seen if b not in bodies]
        if texts[0] in bodies:
            break
        older = bram.page.get_by_role("button", name="Oudere berichten laden")
        if not older.count():
            # The start was reached (the button became "Begin van het gesprek") after these
            # bodies were read: its messages are drawn, or about to be.
            wait_for_message(bram, texts[0])
            continue
        older.click()
        bram.page.wait_for_function("() => !document.querySelector('.messages[aria-busy]')")
    assert sorted(seen) == texts
    assert bodies == texts[: len(bodies)]
    seqs = bram.page.locator(".messages article.msg").evaluate_all(
        "els => els.map(e => Number(e.dataset.seq))"
    )
    assert seqs == sorted(set(seqs))
    assert any(f.get("truncated") for f in subscribed), "the backfill path was not taken"
    assert_clean(bram)


def test_new_messages_are_announced_politely(open_tab, server: Server) -> None:
    """A burst of messages becomes one polite summary, not one announcement per message."""
    (anna,) = in_room(open_tab, server, THEME, "anna")
    anna.page.evaluate(
        """() => {
            window.__said = [];
            const live = document.getElementById('live');
            new MutationObserver(() => {
                if (live.textContent) window.__said.push(live.textContent);
            }).observe(live, {childList: true, characterData: true, subtree: true});
        }"""
    )
    assert anna.page.locator("#live").get_attribute("aria-live") == "polite"
    texts = [unique(f"Kort bericht {n}") for n in range(4)]
    post_many(server, "bram", THEME, texts)
    wait_for_message(anna, texts[-1])
    anna.page.wait_for_function("() => window.__said.length > 0", timeout=8_000)
    anna.page.wait_for_timeout(1_000)
    said = anna.page.evaluate("() => window.__said")
    assert len(said) == 1, said
    assert said[0] == "4 nieuwe berichten in Werken als één overheid."


def test_history_scrolls_back_and_jumps_to_first_unread(open_tab, server: Server) -> None:
    """Older pages load on request without "new" noise; a room opens at its first unread
    message, however many; opened at a later one it offers "Naar eerste ongelezen"."""
    room = "samenwerken-maatschappelijke-partners"
    older = [f"Eerder bericht {n:02d}" for n in range(1, 81)]
    post_many(server, "bram", room, older)
    anna = signed_in(open_tab, server, "anna")
    open_room(anna, room, live=True)
    page = anna.page
    for _ in range(10):
        if page.locator(".history-top", has_text="Begin van het gesprek").count():
            break
        page.get_by_role("button", name="Oudere berichten laden").click()
        page.wait_for_timeout(300)
    page.locator(".history-top", has_text="Begin van het gesprek").wait_for()
    assert [b for b in message_bodies(anna) if b.startswith("Eerder bericht")] == older
    assert page.locator(".new-below").is_hidden()
    page.locator(".timeline").focus()
    page.keyboard.press("End")
    wait_read_to_end(anna, room)

    go_to(anna, "Gesprekken")

    # Back in the room after others wrote: the backlog arrives, the "new" line precedes it.
    newer = [f"Later bericht {n:02d}" for n in range(1, 71)]
    post_many(server, "bram", room, newer)
    # The room list has heard of all 70 (live activity) before the room is opened from it:
    # a click during its re-renders could land on a link on its way out.
    page.locator(f'#sidebar a[data-slug="{room}"] .unread-count', has_text="70").wait_for()
    open_room(anna, room, live=True)
    page.locator("#eerste-ongelezen").wait_for()
    assert page.locator("#eerste-ongelezen + article .body").inner_text() == newer[0]
    page.locator(".timeline").focus()
    page.keyboard.press("End")
    wait_read_to_end(anna, room)
    go_to(anna, "Gesprekken")

    # After a reload the room opens at the first unread message, its line in view.
    latest = [f"Nog later bericht {n:02d}" for n in range(1, 71)]
    post_many(server, "bram", room, latest)
    page.reload()
    open_room(anna, room, live=True)
    first = page.locator("#eerste-ongelezen + article")
    assert first.locator(".body").inner_text() == latest[0]
    assert first.evaluate(
        "(el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }"
    )
    assert page.get_by_role("button", name="Naar eerste ongelezen").is_hidden()
    page.locator(".timeline").focus()
    page.keyboard.press("End")
    wait_read_to_end(anna, room)
    go_to(anna, "Gesprekken")

    # Past a window's worth (300) too it opens at the first unread message; End loads
    # the newest.
    flood = [f"Veel later bericht {n:03d}" for n in range(1, 521)]
    post_many(server, "bram", room, flood)
    page.reload()
    open_room(anna, room, live=True)
    page.locator("#eerste-ongelezen").wait_for()
    first = page.locator("#eerste-ongelezen + article")
    assert first.locator(".body").inner_text() == flood[0]
    first_seq = int(first.get_attribute("data-seq") or 0)
    assert page.get_by_role("button", name="Naar eerste ongelezen").is_hidden()
    assert flood[-1] not in message_bodies(anna)

    # Opened at a later message, "Naar eerste ongelezen" loads back to the line, which
    # follows what the first visit had on screen (and so read).
    page.wait_for_timeout(1_000)
    state = page.evaluate(
        """async (slug) => (await (await fetch('/api/rooms')).json())
            .rooms.find((r) => r.slug === slug)""",
        room,
    )
    page.goto(f"/kamer/{room}?seq={state['last_seq']}")
    wait_for_message(anna, flood[-1])
    page.get_by_role("button", name="Naar eerste ongelezen").click()
    # The line is drawn for the eye; the focus is on the first unread message after it.
    page.wait_for_function(
        "() => document.activeElement === document.querySelector('#eerste-ongelezen + article')"
    )
    unread = page.locator("#eerste-ongelezen + article")
    assert unread.get_attribute("data-seq") == str(state["read_seq"] + 1)
    assert unread.locator(".body").inner_text() == flood[state["read_seq"] + 1 - first_seq]
    shot(anna, "13-eerste-ongelezen")
    assert_clean(anna)


def test_ban_closes_the_room_at_once(open_tab, server: Server) -> None:
    """A ban reaches the banned participant's open room at once (`removed`)."""
    room = "dynamisch-programmeren"
    ingrid, pieter = in_room(open_tab, server, room, "ingrid", "pieter")
    text = unique("Dit had ik beter niet kunnen schrijven")
    send(ingrid, text)
    open_menu(pieter, text)
    pieter.page.get_by_role("button", name="Ingrid Bakker verbannen").click()
    submit_dialog(pieter, "Verbannen", {"Reden": "Herhaaldelijk persoonlijk"})

    ingrid.page.locator(".room-notice", has_text="verbannen").wait_for()
    assert ingrid.page.locator("#composer-input").is_disabled()
    ingrid.page.locator(f'#sidebar a[data-slug="{room}"]').wait_for(state="detached")
    assert_clean(ingrid)


def test_pins_and_slow_mode(open_tab, server: Server) -> None:
    """A pinned message is listed for others live; slow mode holds a second message back
    and says so, without an error."""
    room = demo_slug("bijeenkomst-2026-10-01-bergen-op-zoom")
    joost, pieter = in_room(open_tab, server, room, "joost", "pieter")
    agenda = "Agenda: 10:00 ontvangst, 10:30 rondgang over de dijk, 12:30 lunch."
    send(pieter, agenda)
    open_menu(pieter, agenda)
    pieter.page.get_by_role("button", name="Vastzetten").click()
    joost.page.locator(".pins summary", has_text="Vastgezet (1)").wait_for()
    joost.page.locator(".messages article.msg", has_text=agenda).locator(".pinned-flag").wait_for()
    joost.page.locator(".pins summary").click()
    joost.page.locator(".pins-list button", has_text="Agenda").wait_for()

    room_settings(pieter, {"Langzame modus": "60"})
    joost.page.wait_for_timeout(300)
    first = unique("Eerste vraag")
    send(joost, first)
    wait_for_message(joost, first)
    # The second waits in the box, with the countdown, rather than failing.
    joost.page.locator("#composer-state", has_text="weer een bericht sturen").wait_for()
    assert joost.page.get_by_role("button", name="Versturen").is_disabled()
    assert joost.page.locator(".pending-status.failed").count() == 0
    assert_clean(joost)
    assert_clean(pieter)

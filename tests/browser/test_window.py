"""The timeline is a window: a bounded number of messages in the DOM, history loaded
as one scrolls either way, live messages noted (not drawn) while the window stops short
of the newest, and End or "Naar nieuwste" bringing the newest back (issue 30, item 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    open_room,
    post_many,
    signed_in,
    wait_for_message,
    wait_read_to_end,
)

# Thousands of messages posted and paged through on a loaded machine take their time.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]

ROOM = "zuidoostelijke-zandgronden"
# The client's window (web/static/js/sync.js WINDOW).
WINDOW = 300
HISTORY = 1000


def room_state(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """async (slug) => {
            const res = await fetch('/api/rooms');
            return (await res.json()).rooms.find((r) => r.slug === slug);
        }""",
        ROOM,
    )


def read_all(page: Any) -> None:
    """Move the user's read marker to the room's last seq (POST /api/catchup/read)."""
    status = page.evaluate(
        """async (slug) => {
            const rooms = (await (await fetch('/api/rooms')).json()).rooms;
            const last = rooms.find((r) => r.slug === slug).last_seq;
            const res = await fetch('/api/catchup/read', {
                method: 'POST', credentials: 'same-origin',
                headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
                body: JSON.stringify({ rooms: { [slug]: last } }),
            });
            return res.status;
        }""",
        ROOM,
    )
    assert status == 200, status


def shown(page: Any) -> list[str]:
    """The bodies of the messages in the DOM, in order."""
    return page.locator(".messages article.msg .body").all_inner_texts()


def first_seq(page: Any) -> int:
    return int(page.locator(".messages article.msg").first.get_attribute("data-seq") or 0)


def last_seq(page: Any) -> int:
    return int(page.locator(".messages article.msg").last.get_attribute("data-seq") or 0)


def settled(page: Any) -> None:
    """No page of history on its way."""
    page.wait_for_function("() => !document.querySelector('.messages[aria-busy]')")


def scroll_until(page: Any, to: str, changed: Any, pages: int) -> None:
    """Scroll the timeline to its top or end `pages` times, each time until a page came."""
    timeline = page.locator(".timeline")
    for _ in range(pages):
        before = first_seq(page) if to == "top" else last_seq(page)
        timeline.evaluate("(el, to) => { el.scrollTop = to === 'top' ? 0 : el.scrollHeight; }", to)
        page.wait_for_function(
            """([to, before]) => {
                const all = document.querySelectorAll('.messages article.msg');
                const el = to === 'top' ? all[0] : all[all.length - 1];
                return el && Number(el.dataset.seq) !== before
                    && !document.querySelector('.messages[aria-busy]');
            }""",
            arg=[to, before],
            timeout=30_000,
        )
        assert changed(before)
        count = page.locator(".messages article.msg").count()
        assert count <= WINDOW, f"{count} messages in the DOM, more than the window"


def in_order(bodies: list[str], texts: list[str]) -> None:
    """What is shown is one contiguous stretch of the history, in order."""
    known = set(texts)
    ours = [b for b in bodies if b in known]
    assert ours, "none of the history shown"
    start = texts.index(ours[0])
    assert ours == texts[start : start + len(ours)]


def test_window_stays_bounded_and_reaches_the_newest(
    open_tab, server: Server, axe_source: Path
) -> None:
    texts = [f"Zandgrond {n:04d}: grondwater en stikstof" for n in range(1, HISTORY + 1)]
    post_many(server, "ingrid", ROOM, texts)
    bram = signed_in(open_tab, server, "bram")
    page = bram.page
    # Read up to the end first: with 1,000 unread the room would open at the line, and
    # whether bram read the room before depends on the tests that ran on this server.
    read_all(page)
    open_room(bram, ROOM, live=True)
    wait_for_message(bram, texts[-1])
    assert page.locator(".messages article.msg").count() <= WINDOW
    wait_read_to_end(bram, ROOM)

    # Ten pages back (500 messages, past the window of 300): the DOM keeps a window, the
    # newest messages leave it.
    scroll_until(page, "top", lambda before: first_seq(page) < before, 10)
    bodies = shown(page)
    in_order(bodies, texts)
    assert texts[-1] not in bodies
    assert len(page.locator("article").all()) <= WINDOW + 5
    below = page.locator(".new-below")
    assert below.is_visible() and below.inner_text() == "Naar nieuwste ↓"
    assert page.locator(".messages").get_attribute("aria-busy") is None
    assert_accessible(bram, axe_source, "a room paged far back")

    # A live message meanwhile is noted, not drawn; the read marker stays where one read.
    live = "Zandgrond live: de pomp in Deurne staat weer aan"
    post_many(server, "ingrid", ROOM, [live])
    page.locator(".new-below", has_text="1 nieuw bericht").wait_for()
    assert live not in shown(page)
    state = room_state(page)
    assert state["read_seq"] < state["last_seq"]
    assert page.locator(".messages article.msg").count() <= WINDOW

    # Scrolling back down loads the newer pages and drops the oldest, to the newest.
    for _ in range(40):
        if live in shown(page):
            break
        scroll_until(page, "end", lambda before: last_seq(page) > before, 1)
    wait_for_message(bram, live)
    in_order(shown(page), texts)
    assert page.locator(".messages article.msg").count() <= WINDOW
    page.locator(".timeline").evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    wait_read_to_end(bram, ROOM)
    page.locator(".new-below").wait_for(state="hidden")
    # At the newest again, live messages are drawn as they come.
    again = "Zandgrond live: en nu het tweede bericht"
    post_many(server, "ingrid", ROOM, [again])
    wait_for_message(bram, again)
    assert page.locator(".messages article.msg").count() <= WINDOW
    assert_clean(bram)


def test_jump_to_an_old_message_then_end_reaches_the_newest(
    open_tab, server: Server, axe_source: Path
) -> None:
    texts = [f"Zandgrond sprong {n:04d}" for n in range(1, 801)]
    post_many(server, "bram", ROOM, texts)
    ingrid = signed_in(open_tab, server, "ingrid")
    page = ingrid.page
    open_room(ingrid, ROOM, live=True)
    wait_for_message(ingrid, texts[-1])
    seq = int(
        page.locator(".messages article.msg", has_text=texts[-1]).get_attribute("data-seq") or 0
    )
    target = seq - 700  # texts[99]: far outside the window at the end
    page.goto(f"/kamer/{ROOM}?seq={target}")
    article = page.locator(f'.messages article.msg[data-seq="{target}"]')
    article.wait_for()
    assert article.locator(".body").inner_text() == texts[99]
    page.wait_for_function(
        "(seq) => document.activeElement?.dataset?.seq === String(seq)", arg=target
    )
    settled(page)
    assert texts[-1] not in shown(page)
    assert page.locator(".messages article.msg").count() <= WINDOW
    assert_accessible(ingrid, axe_source, "a room opened at an old message")

    # Arrow keys move through the window; End loads the newest and puts the focus on it.
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        "(seq) => Number(document.activeElement?.dataset?.seq) > seq", arg=target
    )
    page.keyboard.press("End")
    newest = page.locator(".messages article.msg", has_text=texts[-1])
    newest.wait_for()
    page.wait_for_function(
        "(text) => document.activeElement?.matches?.('article.msg')"
        " && document.activeElement.textContent.includes(text)",
        arg=texts[-1],
    )
    assert page.locator(".messages article.msg").count() <= WINDOW
    in_order(shown(page), texts)
    page.locator(".new-below").wait_for(state="hidden")
    live = "Zandgrond sprong live"
    post_many(server, "bram", ROOM, [live])
    wait_for_message(ingrid, live)
    assert_clean(ingrid)

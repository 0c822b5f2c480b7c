"""The room as people use it every day: at every size and zoom, by keyboard, and with a
screen reader. One page session per viewport, with several checks in each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server
from tests.browser.ui import (
    assert_accessible,
    assert_clean,
    login,
    open_room,
    post_many,
    send,
    shot,
    signed_in,
    unique,
    wait_connected,
    wait_for_message,
)

pytestmark = pytest.mark.browser

THEME = "werken-als-een-overheid"
THEME_NAME = "Werken als één overheid"

# Each element's centre is the element itself (or inside it): nothing covers or clips it.
# An element in a scrolled box (a long menu at 400 % zoom) is scrolled to first.
HIT_TEST = """(selector) => [...document.querySelectorAll(selector)].map((el) => {
    el.scrollIntoView({block: 'nearest', inline: 'nearest'});
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    return {text: el.textContent.trim(), ok: !!hit && el.contains(hit),
            hit: hit ? hit.outerHTML.slice(0, 80) : null, x, y};
})"""

TABBABLE_IN_FEED = """() => {
    const feed = document.querySelector('.messages');
    const all = [...feed.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
        .filter((el) => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length);
    const active = feed.querySelector('article[tabindex="0"]');
    return {count: all.length, inActive: all.filter((el) => active && active.contains(el)).length,
            articles: feed.querySelectorAll('article').length};
}"""


def hit_all(page: Any, selector: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(HIT_TEST, selector)
    assert found, f"nothing matches {selector}"
    return found


@pytest.mark.parametrize(
    ("width", "height"),
    [(1280, 800), (640, 400), (390, 844), (320, 256)],
    ids=["1280", "zoom200", "phone", "zoom400"],
)
def test_room_fits_every_size(
    open_tab, server: Server, axe_source: Path, width: int, height: int
) -> None:
    """An administrator's room at this size: header ≤ 72 px on a desktop, half the height
    for messages, no sideways scrolling, the last menu and who is online fully usable."""
    bram = signed_in(open_tab, server, "bram")
    open_room(bram, THEME, live=True)
    last = unique("Laatste bericht")
    post_many(server, "bram", THEME, [unique("Bericht") for _ in range(5)] + [last])

    tab = open_tab(width=width, height=height)
    login(tab, "beheer", server.logins["beheer"])
    open_room(tab, THEME, live=True)
    page = tab.page
    wait_for_message(tab, last)
    name = f"{width}x{height}"

    if width >= 1024:
        header = page.locator("header.topbar").bounding_box()
        assert header and header["height"] <= 72, f"top bar is {header} at {name}"
    else:
        # Small and zoomed (WCAG 1.4.10): header and composer fold, messages keep half.
        timeline = page.locator(".timeline").bounding_box()
        assert timeline and timeline["height"] >= height / 2, f"message list {timeline} at {name}"
    sideways = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert sideways <= 0, f"{sideways} px of sideways scrolling at {name}"

    # The menu of the newest message: every item can be hit, not clipped by the list.
    toggle = page.locator(".messages article.msg", has_text=last).locator(".msg-menu-toggle")
    toggle.click()
    menu = page.locator(".msg-menu:popover-open")
    menu.wait_for()
    bad = [h for h in hit_all(page, ".msg-menu:popover-open .menu-item") if not h["ok"]]
    assert not bad, f"menu items not reachable at {name}: {bad}"
    shot(tab, f"30-menu-{name}")
    assert_accessible(tab, axe_source, f"message menu at {name}")
    page.keyboard.press("Escape")
    menu.wait_for(state="hidden")
    assert page.evaluate("() => document.activeElement.classList.contains('msg-menu-toggle')")

    # Who is online: every name visible and not cut off.
    summary = page.locator(".presence summary")
    summary.filter(has_text="2 online").wait_for(state="attached")
    if not summary.is_visible():
        page.locator(".room-head-toggle").click()
    summary.click()
    page.locator(".presence-list li", has_text="Bram Peeters").wait_for()
    bad = [h for h in hit_all(page, ".presence[open] .presence-list li") if not h["ok"]]
    assert not bad, f"people online cut off at {name}: {bad}"
    shot(tab, f"31-online-{name}")
    assert_accessible(tab, axe_source, f"room at {name}")
    # Escape closes it again, focus back on its summary.
    summary.focus()
    page.keyboard.press("Escape")
    page.locator(".presence[open]").wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.matches('.presence summary')")
    assert_clean(tab)


def test_keyboard_feed_dialogs_and_announcements(
    open_tab, server: Server, axe_source: Path
) -> None:
    """The list is one Tab stop with arrow keys inside; dialogs give focus back and start
    on "Annuleren" when destructive; a new message is read with its text; Alt+↑/↓ and
    Ctrl+K switch rooms."""
    post_many(server, "bram", THEME, [unique("Ouder bericht") for _ in range(12)])
    anna = signed_in(open_tab, server, "anna")
    bram = signed_in(open_tab, server, "bram")
    for tab in (anna, bram):
        open_room(tab, THEME, live=True)
    page = anna.page
    page.evaluate(
        """() => {
            window.__said = [];
            const live = document.getElementById('live');
            new MutationObserver(() => {
                if (live.textContent) window.__said.push(live.textContent);
            }).observe(live, {childList: true, characterData: true, subtree: true});
        }"""
    )

    # A message from someone else is read out with its text.
    heard = unique("Wie komt er morgen")
    send(bram, heard)
    wait_for_message(anna, heard)
    page.wait_for_function("() => window.__said.length > 0", timeout=8_000)
    assert page.evaluate("() => window.__said") == [f"Bram Peeters in {THEME_NAME}: {heard}"]

    # The feed: one Tab stop, whatever the length of the history.
    feed = page.locator(".messages")
    assert feed.get_attribute("role") == "feed"
    stops = page.evaluate(TABBABLE_IN_FEED)
    assert stops["articles"] > 10
    # Only the article in the Tab order and its own controls (⋯, a reaction) are tabbable.
    assert stops["count"] == stops["inActive"], stops
    assert 1 <= stops["count"] <= 5, stops
    # Where the focus is and how many messages are loaded, read together: older history
    # may load at any moment (earlier tests wrote in this room), shifting every position.
    where = (
        "() => [Number(document.activeElement.getAttribute('aria-posinset')),"
        " document.querySelectorAll('.messages article').length]"
    )
    page.locator("#room-title").focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.matches('.messages article')"):
            break
    else:
        raise AssertionError("Tab never reached the message list")
    # One read for all three: the history may complete between two reads.
    pos, n, size = page.evaluate(
        "() => [Number(document.activeElement.getAttribute('aria-posinset')),"
        " document.querySelectorAll('.messages article').length,"
        " document.activeElement.getAttribute('aria-setsize')]"
    )
    assert pos == n
    assert size in ("-1", str(n))
    # Load the whole history first (↑ on the oldest loads more; the set size is -1 until
    # all is there), so that no page arrives in the middle of the checks below.
    for _ in range(40):
        if page.evaluate("() => document.activeElement.getAttribute('aria-setsize')") != "-1":
            break
        page.keyboard.press("Home")
        page.keyboard.press("ArrowUp")
        page.wait_for_timeout(150)
    else:
        raise AssertionError("the history never finished loading")
    page.keyboard.press("End")
    page.keyboard.press("ArrowUp")
    pos, n = page.evaluate(where)
    assert pos == n - 1
    page.keyboard.press("ArrowDown")
    pos, n = page.evaluate(where)
    assert pos == n
    page.keyboard.press("PageUp")
    up, n = page.evaluate(where)
    assert up < n - 1
    page.keyboard.press("PageDown")
    assert page.evaluate(where)[0] > up
    page.keyboard.press("Home")
    assert page.evaluate(where)[0] == 1
    page.keyboard.press("End")
    pos, n = page.evaluate(where)
    assert pos == n
    stops = page.evaluate(TABBABLE_IN_FEED)
    assert stops["count"] == stops["inActive"], stops
    assert_accessible(anna, axe_source, "the message feed")

    # A destructive dialog starts on "Annuleren"; Escape gives the focus back to ⋯.
    mine = unique("Dit trek ik zo in")
    send(anna, mine)
    own = wait_for_message(anna, mine).first
    own.locator(".msg-menu-toggle").click()
    page.get_by_role("button", name="Intrekken").click()
    page.get_by_role("dialog").wait_for()
    assert page.evaluate("() => document.activeElement.textContent") == "Annuleren"
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="detached")
    assert page.evaluate(
        "(t) => document.activeElement.matches('.msg-menu-toggle')"
        " && document.activeElement.closest('article').textContent.includes(t)",
        mine,
    )
    # A form dialog starts on its field and also gives the focus back.
    theirs = wait_for_message(anna, heard).first
    theirs.locator(".msg-menu-toggle").click()
    page.get_by_role("button", name="Melden").click()
    page.get_by_role("dialog").wait_for()
    assert page.evaluate("() => document.activeElement.tagName") == "TEXTAREA"
    page.get_by_role("dialog").get_by_role("button", name="Annuleren").click()
    page.get_by_role("dialog").wait_for(state="detached")
    assert page.evaluate(
        "(t) => document.activeElement.matches('.msg-menu-toggle')"
        " && document.activeElement.closest('article').textContent.includes(t)",
        heard,
    )

    # Alt+↓ and Alt+↑ go to the next and previous room of the list.
    slugs = page.locator("#sidebar a.room-link[data-slug]").evaluate_all(
        "els => els.map(e => e.dataset.slug)"
    )
    here = slugs.index(THEME)
    page.keyboard.press("Alt+ArrowDown")
    page.wait_for_function(
        "(s) => document.querySelector('#sidebar a[aria-current=page]')?.dataset.slug === s",
        arg=slugs[here + 1],
    )
    page.locator("#composer-input").wait_for()
    page.keyboard.press("Alt+ArrowUp")
    page.wait_for_function(
        "(s) => document.querySelector('#sidebar a[aria-current=page]')?.dataset.slug === s",
        arg=THEME,
    )
    wait_connected(anna)

    # Ctrl+K: a room switcher with a filter; Escape gives the focus back.
    page.locator("#composer-input").focus()
    page.keyboard.press("Control+k")
    switcher = page.get_by_role("dialog", name="Naar gesprek")
    switcher.wait_for()
    assert page.evaluate("() => document.activeElement.type") == "search"
    assert_accessible(anna, axe_source, "room switcher")
    shot(anna, "32-snel-wisselen")
    page.keyboard.press("Escape")
    switcher.wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.id") == "composer-input"
    page.keyboard.press("Control+k")
    switcher.wait_for()
    page.keyboard.type("veenweide")
    options = switcher.get_by_role("option")
    options.first.wait_for()
    target = options.first.get_attribute("data-slug")
    assert target and all("veenweide" in (t or "").lower() for t in options.all_inner_texts()), (
        options.all_inner_texts()
    )
    page.keyboard.press("Enter")
    switcher.wait_for(state="detached")
    page.wait_for_function(
        "(s) => document.querySelector('#sidebar a[aria-current=page]')?.dataset.slug === s",
        arg=target,
    )
    assert_clean(anna)
    assert_clean(bram)

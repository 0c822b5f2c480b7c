"""The client shows person text isolated and in logical order, times in Dutch time, and
loads from versioned static URLs; in a browser whose own zone is not Amsterdam."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import DEFAULT_TIMEOUT_MS, Server, Tab
from tests.browser.ui import login, open_room, send, unique, wait_for_message

pytestmark = pytest.mark.browser

THEME = "werken-als-een-overheid"
# Positions in the rendered line of these characters show the visual order.
VISUAL_ORDER = """(el) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const xs = {};
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const needle of ['LN12', '0001']) {
      const at = node.data.indexOf(needle);
      if (at < 0) continue;
      const range = document.createRange();
      range.setStart(node, at); range.setEnd(node, at + 1);
      xs[needle] = range.getBoundingClientRect().left;
    }
  }
  return xs;
}"""


@pytest.fixture
def new_york_tab(browser: Any, server: Server, open_tab: Callable[..., Tab]) -> Iterator[Tab]:
    """A tab of a browser set to New York time: what it shows must still be Dutch time."""
    ctx = browser.new_context(
        base_url=server.base_url,
        viewport={"width": 1280, "height": 800},
        locale="nl-NL",
        timezone_id="America/New_York",
    )
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield open_tab(context=ctx)
    finally:
        ctx.close()


def test_the_app_loads_from_versioned_urls(new_york_tab: Tab, server: Server) -> None:
    """index.html points at /static/<hash>/ and the app runs from there."""
    page = new_york_tab.page
    src = page.evaluate("() => document.querySelector('script[type=module]').src")
    assert re.fullmatch(rf"{server.base_url}/static/[0-9a-f]{{12}}/app\.js", src)
    page.get_by_label("Gebruikersnaam").wait_for()
    assert not new_york_tab.problems


def test_a_spoofed_message_reads_in_logical_order_in_dutch_time(
    new_york_tab: Tab, server: Server
) -> None:
    """The reported override arrives cleaned, reads left to right, and its time is Dutch."""
    tab = new_york_tab
    login(tab, "anna", server.logins["anna"])
    open_room(tab, THEME, live=True)
    tag = unique("iban")
    send(tab, f"{tag} Betaal naar \u202eLN12BANK0001\u202c")
    article = wait_for_message(tab, tag).first
    body = article.locator(".body")
    assert body.inner_text() == f"{tag} Betaal naar LN12BANK0001"
    xs = body.evaluate(VISUAL_ORDER)
    assert xs["LN12"] < xs["0001"]
    assert body.get_attribute("dir") == "auto"
    assert article.locator(".author").evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    stamp = article.locator("time")
    created = datetime.fromisoformat(stamp.get_attribute("datetime").replace("Z", "+00:00"))
    assert stamp.inner_text() == f"{created.astimezone(ZoneInfo('Europe/Amsterdam')):%H:%M}"
    assert not tab.problems


def test_stored_controls_are_shown_visibly_and_isolated(new_york_tab: Tab) -> None:
    """A message stored before the server cleaned input shows its override as ⟨U+202E⟩."""
    result = new_york_tab.page.evaluate(
        """async () => {
        const { fillMessage } = await import('/static/js/views/message.js');
        const article = document.createElement('article');
        document.body.appendChild(article);
        fillMessage(article, {message_id: 1, seq: 1, body: 'Betaal naar \\u202eLN12BANK0001\\u202c',
          author: {username: 'x', display_name: '\\u202eannA'}, created_at: '2026-03-29T08:00:00Z',
          edited_at: null, hidden: false, hidden_by: null, hidden_reason: null, retracted: null,
          client_id: null, reply_to: null}, {parent: undefined, actions: [], onJump: () => {}});
        const body = article.querySelector('.body');
        return {body: body.textContent, author: article.querySelector('.author').textContent,
                title: article.querySelector('time').title};
        }"""
    )
    assert result["body"] == "Betaal naar ⟨U+202E⟩LN12BANK0001⟨U+202C⟩"
    assert result["author"] == "⟨U+202E⟩annA"
    assert result["title"] == "zondag 29 maart 2026 om 10:00"


@pytest.mark.parametrize(
    ("iso", "time", "day"),
    [
        ("2026-03-29T00:59:00Z", "01:59", "zondag 29 maart 2026"),
        ("2026-03-29T01:00:00Z", "03:00", "zondag 29 maart 2026"),
        ("2026-10-25T00:59:00Z", "02:59", "zondag 25 oktober 2026"),
        ("2026-10-25T01:00:00Z", "02:00", "zondag 25 oktober 2026"),
        ("2026-11-30T23:30:00Z", "00:30", "dinsdag 1 december 2026"),
    ],
)
def test_times_and_days_are_dutch_across_dst(
    new_york_tab: Tab, iso: str, time: str, day: str
) -> None:
    """format.js uses the Amsterdam clock on both switch days, in a New York browser."""
    result = new_york_tab.page.evaluate(
        """async (iso) => {
        const f = await import('/static/js/format.js');
        const next = new Date(Date.parse(iso) + 36 * 3600 * 1000);
        return {time: f.formatTime(iso), key: f.dayKey(iso), day: f.dayLabel(iso),
                yesterday: f.dayLabel(iso, next)};
        }""",
        iso,
    )
    assert result["time"] == time
    assert result["day"] == day
    assert result["key"].endswith(day.split()[1].zfill(2))
    assert result["yesterday"] == "Gisteren"

"""Message Markdown: the server renders it (rooms.markdown.message_html: markdown-it-py,
raw HTML off, then nh3) and the client inserts that HTML; the subset renders, plain text
stays as it was, and an XSS corpus never becomes markup."""

from __future__ import annotations

from typing import Any

import pytest

from rooms.markdown import message_html
from tests.browser.conftest import Tab
from tests.conversations.test_xss_paths import CORPUS

pytestmark = pytest.mark.browser

ALLOWED = [
    "P",
    "BR",
    "STRONG",
    "EM",
    "DEL",
    "S",
    "CODE",
    "PRE",
    "BLOCKQUOTE",
    "UL",
    "OL",
    "LI",
    "A",
]


def render(tab: Tab, text: str) -> Any:
    return tab.page.evaluate(
        """async ([text, html]) => {
            const md = await import('/static/js/markdown.js');
            const div = document.createElement('div');
            div.appendChild(md.bodyNodes(text, html));
            const els = [...div.querySelectorAll('*')];
            return {
                tags: els.map((e) => e.tagName),
                attrs: els.flatMap((e) => [...e.attributes].map((a) => a.name + '=' + a.value)),
                text: div.textContent,
                html: div.innerHTML,
            };
        }""",
        [text, message_html(text)],
    )


@pytest.fixture
def tab(open_tab) -> Tab:
    t: Tab = open_tab()
    t.page.get_by_label("Gebruikersnaam").wait_for()
    return t


def test_the_subset_renders(tab: Tab) -> None:
    """Emphasis, lists, quotes, inline and block code and links become their elements."""
    got = render(
        tab, "**vet** en *schuin* en `code`\n\n- een\n- twee\n\n> citaat\n\n```\nx = 1\n```"
    )
    assert got["tags"] == ["P", "STRONG", "EM", "CODE", "UL", "LI", "LI", "BLOCKQUOTE", "P",
                           "PRE", "CODE"]  # fmt: skip
    link = render(tab, "zie [de kaart](https://example.org/kaart)")
    assert "href=https://example.org/kaart" in link["attrs"]


def test_plain_text_is_as_before(tab: Tab) -> None:
    """A body without marks is plain text nodes and links, as it always was."""
    got = render(tab, "Gewoon een zin, met https://example.org en 2*3*4 en @a_b_c.")
    assert got["tags"] == ["A"] and got["text"].startswith("Gewoon een zin")
    assert render(tab, "2*3*4 en @a_b_c")["tags"] == []


def test_xss_corpus_never_becomes_markup(tab: Tab) -> None:
    """Only the subset's elements, no event handler, and only http(s) links."""
    for text in CORPUS:
        got = render(tab, text)
        assert set(got["tags"]) <= set(ALLOWED), (text, got["html"])
        for attr in got["attrs"]:
            name, _, value = attr.partition("=")
            assert not name.startswith("on"), (text, got["html"])
            if name == "href":
                assert value.startswith(("https://", "http://")), (text, got["html"])

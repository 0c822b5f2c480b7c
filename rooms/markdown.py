"""Markdown to safe HTML, for text that members write and others read (the verslag and
messages).

Two layers, so that a flaw in one is caught by the other: markdown-it-py renders
CommonMark plus tables and strikethrough with raw HTML off (a `<script>` in the text
comes out as the escaped text `&lt;script&gt;`) and with links only to `http`, `https`
and `mailto` addresses; nh3 (ammonia) then keeps only the tags and attributes listed
below, again only those URL schemes, and no relative address. Images are not rendered:
a picture from elsewhere would tell its host who reads the verslag and when.
Pure and synchronous; reuse it for any Markdown a member writes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import unescape
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

from rooms.text import clean

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s",
        "code", "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody",
        "tr", "th", "td",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
# Links open as links always do; `nofollow ugc` because members, not the site, chose them.
LINK_REL = "noopener noreferrer nofollow ugc"


def _valid_link(url: str) -> bool:
    """An absolute http, https or mailto address; anything else stays text."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(parts.netloc or parts.scheme == "mailto")


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable(["image"])
    md.validateLink = _valid_link  # type: ignore[method-assign]
    return md


_MD = _parser()
_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    link_rel=LINK_REL,
    url_schemes=set(LINK_SCHEMES),
    url_relative="deny",
    strip_comments=True,
)


def sanitise(html: str) -> str:
    """HTML reduced to the allowed tags, attributes and link schemes."""
    return _CLEANER.clean(html)


def render(markdown: str) -> str:
    """The Markdown as HTML that is safe to insert into a page as it is."""
    return sanitise(_MD.render(clean(markdown)))


_TEXT = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"}, strip_comments=True)


def plain_text(html: str) -> str:
    """What a reader sees of rendered HTML, without its markup (for search snippets)."""
    return unescape(_TEXT.clean(html))


# Messages: the subset a chat needs (emphasis, lists, quotes, inline and block code, links),
# a line break where the member typed one; no headings, rules, tables or images.
MESSAGE_TAGS = frozenset(
    {"p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
)
# A body with none of these marks is plain text and gets no HTML (most messages).
_MARKS = re.compile(
    r"^(```|> ?|[-*+] +|\d+[.)] +)"
    r"|`[^`\n]+`|\*\*\S|(?<![\w*])\*\S|(?<![\w_])_\S|~~\S|\[[^\]\n]{1,200}\]\(",
    re.M,
)
# Every mark holds a backtick or one of > * + _ ~ [ -, or a digit before "." or ")": most
# plain bodies have none. `_MARKS` tries each of its alternatives at every position (~5 µs
# a message); the test below is eight `in`s (a memchr each), a third of one
# character-class search.
_NUMBERED = re.compile(r"\d[.)]")


def may_have_marks(body: str) -> bool:
    """False only when `_MARKS` cannot match: the cheap test before it."""
    if (
        "`" in body
        or ">" in body
        or "*" in body
        or "+" in body
        or "_" in body
        or "~" in body
        or "[" in body
        or "-" in body
    ):
        return True
    return ("." in body or ")" in body) and _NUMBERED.search(body) is not None


def _message_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    md.enable(["strikethrough"])
    md.disable(["image", "heading", "lheading", "hr", "reference", "html_block", "html_inline"])
    md.validateLink = _valid_link  # type: ignore[method-assign]
    return md


_MESSAGE_MD = _message_parser()
_MESSAGE_CLEANER = nh3.Cleaner(
    tags=set(MESSAGE_TAGS),
    clean_content_tags={"script", "style"},
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    link_rel=LINK_REL,
    url_schemes=set(LINK_SCHEMES),
    url_relative="deny",
    strip_comments=True,
)


def message_html(body: str) -> str | None:
    """A message body with Markdown marks as safe HTML; None for plain text."""
    # Plain bodies (most) are told apart before the cache, which keeps the marked ones.
    return _marked_html(body) if may_have_marks(body) else None


@lru_cache(maxsize=4096)
def _marked_html(body: str) -> str | None:
    """Cached: a frame is encoded once per event, but a backlog serves the same bodies again."""
    if not _MARKS.search(body):
        return None
    return _MESSAGE_CLEANER.clean(_MESSAGE_MD.render(clean(body))).strip()

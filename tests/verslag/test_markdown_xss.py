"""An XSS corpus through the report's Markdown: no script, handler or foreign scheme survives."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from rooms.markdown import TAGS, render, sanitise
from tests.clients import Api
from tests.helpers import SQLITE_ONLY

CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//x.nl/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<svg/onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div onmouseover="alert(1)">x</div>',
    "<!-- <script>alert(1)</script> -->",
    "[klik](javascript:alert(1))",
    "[klik](JaVaScRiPt:alert(1))",
    "[klik](javascript&#58;alert(1))",
    "[klik](&#106;avascript:alert(1))",
    "[klik](java\nscript:alert(1))",
    "[klik]( javascript:alert(1))",
    "[klik](<javascript:alert(1)>)",
    "[klik](vbscript:msgbox(1))",
    "[klik](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[klik](DATA:text/html,<script>alert(1)</script>)",
    "[klik](file:///etc/passwd)",
    "[klik](//evil.example/x)",
    "[klik](/relatief)",
    '[klik](https://x.nl "onmouseover=alert(1)")',
    '[klik](https://x.nl"onmouseover="alert(1))',
    "<javascript:alert(1)>",
    "<data:text/html,x>",
    "![plaatje](https://x.nl/x.png)",
    "![x](javascript:alert(1))",
    "[a]: javascript:alert(1)\n\n[klik][a]",
    "[a]: data:text/html,x\n\n[klik][a]",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "> <img src=x onerror=alert(1)>",
    "- <b onclick=alert(1)>x</b>",
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "**<img src=x onerror=alert(1)>**",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "[<img src=x onerror=alert(1)>](https://x.nl)",
    "[x](https://x.nl/<script>)",
    "<a href='https://x.nl' onclick='alert(1)'>x</a>",
    "\u202e<script>alert(1)</script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<object data=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=javascript:alert(1)//>",
    "[x](https://x.nl)<img src=x onerror=alert(1)>",
]


class Inspector(HTMLParser):
    """Collects every tag, attribute and URL the browser would see in the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]


SAFE_ATTRS = {"href", "title", "start", "rel"}
SAFE_HREF = re.compile(r"^(https?://[^\s]+|mailto:[^\s]+)$", re.IGNORECASE)


def check_safe(html: str) -> None:
    seen = Inspector()
    seen.feed(html)
    seen.close()
    assert set(seen.tags) <= TAGS, html
    for name, value in seen.attrs:
        assert name in SAFE_ATTRS, html
        assert not name.startswith("on"), html
        if name == "href":
            assert SAFE_HREF.match(value), html


@pytest.mark.parametrize("source", CORPUS)
def test_nothing_dangerous_survives(source: str) -> None:
    """Only allowed tags and attributes, and links only to http, https and mailto."""
    check_safe(render(source))


@pytest.mark.parametrize("source", CORPUS)
def test_sanitiser_alone_holds(source: str) -> None:
    """The second layer by itself, given the corpus as HTML, keeps nothing dangerous."""
    check_safe(sanitise(source))


def test_raw_html_is_shown_as_text() -> None:
    """Raw HTML is not passed through: it reads as the characters that were typed."""
    assert render("<b>vet</b>") == "<p>&lt;b&gt;vet&lt;/b&gt;</p>\n"


def test_good_links_stay_and_get_rel() -> None:
    """http, https and mailto links work and open without handing over the page."""
    html = render("[a](https://x.nl) [b](mailto:a@x.nl)")
    assert 'href="https://x.nl"' in html and 'href="mailto:a@x.nl"' in html
    assert 'rel="noopener noreferrer nofollow ugc"' in html


@SQLITE_ONLY
async def test_corpus_through_the_api(api: Api) -> None:
    """The whole corpus as one report: the stored and published HTML is safe too."""
    body = "\n\n".join(CORPUS)
    r = await api.call("mo", "PUT", "/api/meetings/meeting-one/report", {"body": body})
    assert r.status_code == 200, r.text
    check_safe(r.json()["report"]["html"])
    r = await api.post("mo", "/api/meetings/meeting-one/report/preview", {"body": body})
    check_safe(r.json()["html"])

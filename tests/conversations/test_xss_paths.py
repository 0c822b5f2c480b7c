"""An XSS corpus through every path a message takes: live, backlog, events API, search
snippet and export. The server serves the source text as `body` everywhere, and beside it
for a body with marks its rendering as `html` (markdown-it-py, raw HTML off, then nh3),
which holds no element of the corpus; a Markdown transcript, rendered by a CommonMark
renderer with raw HTML on, shows none either."""

from __future__ import annotations

import io
import json
import re

from markdown_it import MarkdownIt

from chat.client import Client
from persistence.db import Database
from persistence.moderation import Source
from rooms.markdown import message_html
from tests.clients import Api, OpenClient
from web.actions import archives

CORPUS = [
    "<img src=x onerror=alert(1)>",
    "**<script>alert(1)</script>**",
    "[klik](javascript:alert(1))",
    '[klik](https://example.org/"onmouseover="alert(1))',
    "`<b>code</b>`",
    "```\n</code><img src=x onerror=alert(1)>\n```",
    "> <iframe src=https://evil.example></iframe>",
    "- <a href=javascript:alert(1)>x</a>\n- *<svg onload=alert(1)>*",
    "_<style>body{display:none}</style>_",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]
# An element of the corpus, or an event handler inside a tag, in rendered HTML.
BAD = re.compile(r"<(img|script|iframe|svg|style)\b|<a href=\"?javascript|<[^>]*\son\w+=", re.I)


async def test_the_corpus_comes_back_as_text_on_every_path(
    server: str, api: Api, database: Database, open_client: OpenClient
) -> None:
    """Live, replayed and through the events API each body is exactly its source; search
    snippets are text; exports keep the source and render to no active element."""
    ann: Client = await open_client(server, "ann")
    amy: Client = await open_client(server, "amy")
    for ws in (ann, amy):
        await ws.subscribe("theme-one", since=None)
    bodies = [f"xsstoets{i} {text}" for i, text in enumerate(CORPUS)]
    for body in bodies:
        await ann.send("theme-one", body)
    live = [await amy.wait_for(lambda f, b=b: f.get("body") == b) for b in bodies]
    assert len(live) == len(bodies)
    late: Client = await open_client(server, "bob")
    await late.subscribe("theme-one", since=0)
    replayed = [
        await late.wait_for(lambda f, b=body: f.get("type") == "message" and f["body"] == b)
        for body in bodies
    ]
    events = [e for e in await api.events("bob", "theme-one") if e["type"] == "message"]
    assert [e["body"] for e in events] == bodies
    rendered = [f["html"] for f in (*live, *replayed, *events) if "html" in f]
    # On all three paths, for every body with marks.
    assert len(rendered) == 3 * sum(message_html(b) is not None for b in bodies) > 0
    for html in rendered:
        assert BAD.search(html) is None, html
    for i, body in enumerate(bodies):
        hits = (await api.get("bob", f"/api/search?q=xsstoets{i}")).json()["hits"]
        assert len(hits) == 1, body
        snippet = hits[0]["snippet"].replace("\ue000", "").replace("\ue001", "")
        # Plain text: words of the body only, nothing the server made markup of.
        words = [w.strip("…") for w in snippet.split()]
        assert all(w in body for w in words if w), (snippet, body)
    for fmt in ("json", "md"):
        out = io.StringIO()
        await archives.write_room_export(
            database, "theme-one", out, Source("cli:tester", "cli@test"),
            fmt=fmt, include_hidden=False,
        )  # fmt: skip
        text = out.getvalue()
        if fmt == "json":
            exported = [e["body"] for e in json.loads(text)["events"] if e["type"] == "message"]
            assert exported == bodies
        else:
            html = MarkdownIt("commonmark").render(text)
            assert BAD.search(html) is None, html

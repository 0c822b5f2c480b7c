"""Versioned static URLs against a real server: immutable files, a revalidated index.html."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest

import web.app
from tests.helpers import running_server
from web.settings import Settings

# No database involved: SQLite alone.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])
VERSIONED = re.compile(r'src="/static/([0-9a-f]{12})/app\.js"')


def version_of(page: str) -> str:
    found = VERSIONED.search(page)
    assert found, page
    return found.group(1)


async def test_versioned_files_are_cached_for_a_year(
    server: str, client: httpx.AsyncClient
) -> None:
    """index.html points at /static/<hash>/, whose files (and relative imports) are immutable."""
    page = await client.get(f"{server}/")
    version = version_of(page.text)
    assert f'href="/static/{version}/style.css"' in page.text
    for path in ("app.js", "js/format.js", "js/views/message.js", "style.css"):
        r = await client.get(f"{server}/static/{version}/{path}")
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_index_revalidates_with_its_etag(server: str, client: httpx.AsyncClient) -> None:
    """index.html is `no-cache` with an ETag; the same ETag back gets 304 and no body."""
    first = await client.get(f"{server}/")
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = await client.get(f"{server}/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = await client.get(f"{server}/", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.text == first.text


async def test_unversioned_static_still_served_revalidated(
    server: str, client: httpx.AsyncClient
) -> None:
    """The old /static/… URLs keep working, but are never cached without asking."""
    r = await client.get(f"{server}/static/js/format.js")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-cache"


async def test_a_changed_file_changes_the_version(
    settings: Settings,
    client: httpx.AsyncClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One changed byte gives a new prefix and ETag; the old prefix is a 404, not new content."""
    static = tmp_path / "static"
    shutil.copytree(web.app.STATIC, static)
    monkeypatch.setattr(web.app, "STATIC", static)
    async with running_server(settings) as base:
        before = await client.get(f"{base}/")
    (static / "js" / "format.js").write_text(
        (static / "js" / "format.js").read_text() + "\n// changed\n"
    )
    async with running_server(settings) as base:
        after = await client.get(f"{base}/")
        old, new = version_of(before.text), version_of(after.text)
        assert old != new
        assert after.headers["etag"] != before.headers["etag"]
        stale = await client.get(f"{base}/static/{old}/js/format.js")
        assert stale.status_code == 404
        fresh = await client.get(f"{base}/static/{new}/js/format.js")
        assert fresh.text.endswith("// changed\n")


async def test_a_file_revalidates_answers_head_and_refuses_other_methods(
    server: str, client: httpx.AsyncClient
) -> None:
    """A file's ETag back gets 304; HEAD gets the headers and no body; POST is a 405
    that names the methods the path takes."""
    version = version_of((await client.get(f"{server}/")).text)
    url = f"{server}/static/{version}/js/format.js"
    first = await client.get(url)
    assert first.headers["content-type"] == "text/javascript; charset=utf-8"
    again = await client.get(url, headers={"If-None-Match": f"W/{first.headers['etag']}"})
    assert again.status_code == 304 and again.content == b""
    head = await client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(first.content))
    posted = await client.post(url)
    assert posted.status_code == 405 and "GET" in posted.headers["allow"]
    routed = await client.delete(f"{server}/healthz")  # the router's 405 keeps its Allow too
    assert routed.status_code == 405 and "GET" in routed.headers["allow"]
    assert routed.json()["error"]["code"] == "method_not_allowed"
    missing = await client.get(f"{server}/static/{version}/js/../app.js")
    assert missing.status_code in (200, 404)  # httpx folds the dots; never a file outside
    assert (await client.get(f"{server}/static/{version}/js")).status_code == 404


async def test_a_file_changed_while_serving_keeps_its_versions_content(
    settings: Settings,
    client: httpx.AsyncClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bytes that were hashed are the ones served: an edit on disk while the server
    runs changes nothing under the version it announced (browsers keep it for a year)."""
    static = tmp_path / "static"
    shutil.copytree(web.app.STATIC, static)
    monkeypatch.setattr(web.app, "STATIC", static)
    async with running_server(settings) as base:
        version = version_of((await client.get(f"{base}/")).text)
        before = await client.get(f"{base}/static/{version}/js/format.js")
        (static / "js" / "format.js").write_text("// changed\n")
        after = await client.get(f"{base}/static/{version}/js/format.js")
        assert after.content == before.content


async def test_index_preloads_every_module_of_the_page(
    server: str, client: httpx.AsyncClient
) -> None:
    """Every module app.js reaches through static imports is announced as a modulepreload
    of this version, each once, and each is served: one round trip, not one per level."""
    page = (await client.get(f"{server}/")).text
    version = version_of(page)
    preloaded = re.findall(rf'<link rel="modulepreload" href="/static/{version}/([^"]+)">', page)
    static = Path(web.app.__file__).parent / "static"
    graph, todo = set(), ["app.js"]
    while todo:  # the graph again, read the simple way: every relative `from`/`import`
        source = static / todo.pop()
        for spec in re.findall(
            r"""(?:from|import)\s*['"](\.{1,2}/[^'"]+)['"]""", source.read_text()
        ):
            name = (source.parent / spec).resolve().relative_to(static.resolve()).as_posix()
            if name not in graph and name != "app.js":
                graph.add(name)
                todo.append(name)
    assert sorted(preloaded) == sorted(graph) and len(preloaded) == len(set(preloaded))
    assert page.index("modulepreload") < page.index(f"/static/{version}/app.js")
    for name in preloaded:
        assert (await client.get(f"{server}/static/{version}/{name}")).status_code == 200, name

"""The client's paths load its page; every other unknown path is still a 404."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import msgspec
import pytest

import web
from tests.helpers import running_server
from web.clientpaths import CLIENT_ROOTS
from web.settings import Settings

# No database involved: SQLite alone.
SQLITE = pytest.mark.parametrize("backend", ["sqlite"])


@SQLITE
async def test_client_paths_answer_the_page(server: str, client: httpx.AsyncClient) -> None:
    """/kamer/<slug>, /zoeken?q=… and every other client root get index.html, revalidated."""
    index = (await client.get(f"{server}/")).text
    for path in [f"/{root}" for root in CLIENT_ROOTS] + [
        "/kamer/area-a",
        "/kamer/area-a?seq=3",
        "/zoeken?q=peilbesluit&auteur=ann",
        "/bijeenkomst/meeting-one",
        "/delen/nieuw",
    ]:
        r = await client.get(f"{server}{path}")
        assert r.status_code == 200, path
        assert r.text == index, path
        assert r.headers["cache-control"] == "no-cache"
        assert "default-src" in r.headers["content-security-policy"]


@SQLITE
async def test_other_paths_stay_the_servers(server: str, client: httpx.AsyncClient) -> None:
    """Unknown paths, lookalikes and the server's own prefixes are not the client's page."""
    for path in ("/kamers", "/kamerx/a", "/onbekend", "/api/kamer", "/static/kamer"):
        r = await client.get(f"{server}{path}")
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/json"), path
    assert (await client.get(f"{server}/api/me")).status_code == 401
    assert (await client.get(f"{server}/healthz")).status_code == 200
    assert (await client.get(f"{server}/openbaar")).headers["content-type"].startswith("text/html")


@SQLITE
async def test_demo_logins_only_in_the_demo(settings: Settings, client: httpx.AsyncClient) -> None:
    """GET /api/demo lists the demo accounts under `serve --demo` only."""
    async with running_server(settings) as base:
        assert (await client.get(f"{base}/api/demo")).json() == {"logins": []}
    async with running_server(msgspec.structs.replace(settings, demo=True)) as base:
        logins = (await client.get(f"{base}/api/demo")).json()["logins"]
    assert {"username": "anna", "password": "veenweide-2026"}.items() <= logins[0].items()
    assert all(set(one) == {"username", "password", "about"} for one in logins)


def test_one_list_of_client_paths() -> None:
    """The server, the router and the service worker know the same client paths."""
    static = Path(web.__file__).parent / "static"
    for script in (static / "js" / "router.js", static / "sw.js"):
        found = re.search(r"const ROOTS = \[([^\]]*)\]", script.read_text(encoding="utf-8"))
        assert found, script
        assert tuple(re.findall(r"'([a-z-]+)'", found.group(1))) == CLIENT_ROOTS, script

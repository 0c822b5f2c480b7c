"""A report written and published through one server process reaches the other at once."""

from __future__ import annotations

import httpx

from tests.clients import Api, OpenClient
from tests.helpers import ServerProcess

REPORT = "/api/meetings/meeting-one/report"


async def test_publish_on_a_reaches_b(
    two_servers: tuple[ServerProcess, ServerProcess], open_client: OpenClient
) -> None:
    """Revisions on A, publication on B: a subscriber on A gets the event; B serves it."""
    a, b = two_servers
    ann = await open_client(a.url, "ann")
    await ann.subscribe("meeting-one", since=None)
    async with httpx.AsyncClient(timeout=10) as http:
        on_a, on_b = Api(http, a.url), Api(http, b.url)
        for n, text in enumerate(("Eerste opzet", "# Verslag\n\nTweede versie"), start=1):
            r = await on_a.call("mo", "PUT", REPORT, {"body": text})
            assert r.status_code == 200 and r.json()["report"]["revision"] == n
        assert (await on_b.get("ann", REPORT)).status_code == 404
        revisions = (await on_b.get("mo", f"{REPORT}/revisions")).json()["revisions"]
        assert [v["revision"] for v in revisions] == [2, 1]
        r = await on_b.post("mo", f"{REPORT}/publish")
        assert r.status_code == 200, r.text
        frame = await ann.wait_for(lambda f: f.get("type") == "meeting_report_published")
        assert frame["room"] == "meeting-one" and frame["meeting"] == "meeting-one"
        shown = (await on_a.get("ann", REPORT)).json()["report"]
        assert shown["status"] == "published" and "Tweede versie" in shown["html"]

"""The verslag over HTTP, on both databases: revisions, publication, events, search, access."""

from __future__ import annotations

from typing import Any

from persistence.db import Database
from tests.clients import Api, OpenClient
from tests.helpers import SQLITE_ONLY
from tests.persistence.posting import post

REPORT = "/api/meetings/meeting-one/report"
# A word no message of the fixtures contains, in an inflected form (Dutch stemming).
TEXT = "# Verslag\n\nWe bespraken de **kwelwaterstanden** bij Tijnje.\n"


async def put(api: Api, user: str, body: str) -> Any:
    r = await api.call(user, "PUT", REPORT, {"body": body})
    assert r.status_code == 200, r.text
    return r.json()["report"]


async def test_each_put_is_a_new_revision_and_stays_a_draft(api: Api) -> None:
    """Two PUTs give revisions 1 and 2, both listed; the report stays a draft with HTML."""
    first = await put(api, "mo", "Eerste versie")
    assert first["revision"] == 1 and first["status"] == "draft"
    assert first["updated_by"] == "mo" and first["published_at"] is None
    second = await put(api, "ada", TEXT)
    assert second["revision"] == 2 and second["status"] == "draft"
    assert "<strong>kwelwaterstanden</strong>" in second["html"]
    r = await api.get("mo", f"{REPORT}/revisions")
    assert r.status_code == 200, r.text
    listed = r.json()["revisions"]
    assert [(v["revision"], v["updated_by"]) for v in listed] == [(2, "ada"), (1, "mo")]


async def test_a_draft_is_hidden_from_members(api: Api) -> None:
    """A member gets 404 for a draft and 403 for writing or the revisions; mo reads it."""
    await put(api, "mo", TEXT)
    r = await api.get("ann", REPORT)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert (await api.get("mo", REPORT)).json()["report"]["status"] == "draft"
    r = await api.call("ann", "PUT", REPORT, {"body": "mijn versie"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await api.get("ann", f"{REPORT}/revisions")).status_code == 403
    assert (await api.post("ann", f"{REPORT}/publish")).status_code == 403
    assert (await api.get("ann", f"{REPORT}/draft")).status_code == 403


async def test_publish_tells_meeting_and_theme_rooms(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """Publishing answers `published`; both rooms get meeting_report_published, live too."""
    ws = await open_client(server, "bob")
    await ws.subscribe("theme-one", since=None)
    await put(api, "mo", TEXT)
    r = await api.post("mo", f"{REPORT}/publish")
    assert r.status_code == 200, r.text
    report = r.json()["report"]
    assert report["status"] == "published" and report["published_at"] is not None
    frame = await ws.wait_for(lambda f: f.get("type") == "meeting_report_published")
    want = {"meeting": "meeting-one", "title": "Verslag: Bijeenkomst één"}
    assert frame["room"] == "theme-one" and {**frame, **want} == frame
    for room in ("meeting-one", "theme-one"):
        events = [e for e in await api.events("ann", room) if e["type"] == frame["type"]]
        assert len(events) == 1 and events[0]["meeting"] == "meeting-one"
        assert isinstance(events[0]["seq"], int)
    # Now every participant reads it; publishing again tells nobody twice.
    assert (await api.get("ann", REPORT)).json()["report"]["html"] == report["html"]
    assert (await api.post("mo", f"{REPORT}/publish")).status_code == 200
    again = [e for e in await api.events("ann", "meeting-one") if e["type"] == frame["type"]]
    assert len(again) == 1
    # A later revision keeps the report published.
    assert (await put(api, "mo", TEXT + "\nAanvulling."))["status"] == "published"


async def test_search_finds_published_report_only(api: Api) -> None:
    """A word only the report contains is found once published, as a `report` hit."""
    await put(api, "mo", TEXT)
    r = await api.get("ann", "/api/search?q=kwelwaterstand")
    assert r.status_code == 200 and r.json()["hits"] == []
    assert (await api.post("mo", f"{REPORT}/publish")).status_code == 200
    hits = (await api.get("ann", "/api/search?q=kwelwaterstand")).json()["hits"]
    assert [h["kind"] for h in hits] == ["report"]
    assert hits[0]["meeting"] == "meeting-one" and "kwelwaterstanden" in hits[0]["snippet"]
    assert "#" not in hits[0]["snippet"] and "**" not in hits[0]["snippet"]  # text, not Markdown
    # Filters a report cannot meet leave it out; the meeting's own room keeps it.
    assert (await api.get("ann", "/api/search?q=kwelwaterstand&author=ann")).json()["hits"] == []
    kept = (await api.get("ann", "/api/search?q=kwelwaterstand&room=meeting-one")).json()
    assert [h["kind"] for h in kept["hits"]] == ["report"]
    # An edit of the published report is searched as it is now.
    await put(api, "mo", "# Verslag\n\nAlleen nog over veenoxidatie.")
    assert (await api.get("ann", "/api/search?q=kwelwaterstand")).json()["hits"] == []
    assert len((await api.get("ann", "/api/search?q=veenoxidatie")).json()["hits"]) == 1


async def test_message_hits_have_kind_message(api: Api, database: Database) -> None:
    """Message hits carry `kind: message` beside the fields they always had."""
    await post(database, "theme-one", "ann", "Het grondwater staat hoog.", "c1")
    hits = (await api.get("ann", "/api/search?q=grondwater")).json()["hits"]
    assert [h["kind"] for h in hits] == ["message"] and hits[0]["room"] == "theme-one"


async def test_draft_from_agenda(api: Api) -> None:
    """The moderator's first text names the meeting and the agenda's headings."""
    r = await api.get("mo", f"{REPORT}/draft")
    assert r.status_code == 200, r.text
    body = r.json()["body"]
    assert body.startswith("# Verslag: Bijeenkomst één") and "## Besluiten" in body
    assert "## Actiepunten" in body


@SQLITE_ONLY
async def test_over_the_limit_is_too_large(api: Api) -> None:
    """200,000 characters are taken; one more is 413 too_large; an unknown meeting 404."""
    assert (await put(api, "mo", "a" * 200_000))["revision"] == 1
    r = await api.call("mo", "PUT", REPORT, {"body": "a" * 200_001})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = await api.call("mo", "PUT", "/api/meetings/geen/report", {"body": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.post("mo", f"{REPORT}/preview", {"body": "*a*"})
    assert r.status_code == 200 and r.json()["html"] == "<p><em>a</em></p>\n"

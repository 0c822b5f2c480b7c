"""A published verslag offered to the public pages: its author must consent too."""

from __future__ import annotations

from tests.clients import Api
from tests.public.conftest import agree

REPORT = "/api/meetings/meeting-one/report"
TEXT = (
    "# Verslag\n\nWe bespraken de **kwelwaterstanden** bij Tijnje.\n\n<script>alert(1)</script>\n"
)


async def test_a_verslag_is_published_when_its_author_agrees(api: Api) -> None:
    """Only a published verslag can be offered; its author (who published it) consents."""
    offer = {"kind": "report", "meeting": "meeting-one"}
    assert (await api.post("ada", "/api/publications", offer)).status_code == 404
    assert (await api.call("mo", "PUT", REPORT, {"body": TEXT})).status_code == 200
    assert (await api.post("ada", "/api/publications", offer)).status_code == 404  # a draft
    assert (await api.post("mo", f"{REPORT}/publish")).status_code == 200
    assert (await api.post("ann", "/api/publications", offer)).status_code == 403
    r = await api.post("ada", "/api/publications", offer)
    assert r.status_code == 201, r.text
    made = r.json()["publication"]
    assert made["kind"] == "report" and made["status"] == "pending"
    assert made["title"] == "Verslag: Bijeenkomst één"
    assert [(a["username"], a["consent"]) for a in made["authors"]] == [("mo", None)]
    assert (await api.post("ada", "/api/publications", offer)).status_code == 409
    assert (await api.get(None, f"/openbaar/{made['id']}")).status_code == 404
    assert (await agree(api, "mo", made["id"]))["status"] == "published"
    page = await api.get(None, f"/openbaar/{made['id']}")
    assert page.status_code == 200
    assert "<strong>kwelwaterstanden</strong>" in page.text
    assert "<script>alert" not in page.text
    assert "Mo Moderator" not in page.text and "Programmabureau (Rijk)" in page.text
    found = await api.get(None, "/openbaar?q=kwelwaterstanden")
    assert f"/openbaar/{made['id']}" in found.text

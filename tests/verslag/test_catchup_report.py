"""The catch-up shows published verslagen, first to those who registered but were absent."""

from __future__ import annotations

from persistence.db import Database
from rooms.dutchtime import MONTHS, to_dutch
from tests.clients import Api
from tests.meetings.conftest import Store, days_ago
from tests.verslag.conftest import register


async def publish(api: Api, meeting: str, body: str) -> None:
    path = f"/api/meetings/{meeting}/report"
    assert (await api.call("mo", "PUT", path, {"body": body})).status_code == 200
    assert (await api.post("mo", f"{path}/publish")).status_code == 200


async def test_absent_member_sees_the_report_first(
    api: Api, store: Store, database: Database
) -> None:
    """Ann registered as going and was absent: the report comes first, with the notice."""
    held = days_ago(7)
    await store.meeting("meeting-zero", "theme-one", held)
    await register(database, "meeting-zero", "ann", attended=False)
    await register(database, "meeting-zero", "amy", attended=True)
    await publish(api, "meeting-zero", "# Verslag\n\nWat we deden.")
    # A later report of another meeting is newer, but ann's missed one still leads.
    await publish(api, "meeting-one", "# Vooruitblik")
    day = to_dutch(held)
    body = (await api.get("ann", "/api/catchup")).json()
    first = body["reports"][0]
    assert first["meeting"] == "meeting-zero" and first["missed"] is True
    assert (
        first["notice"] == f"Je was er niet op {day.day} {MONTHS[day.month - 1]}: lees het verslag"
    )
    assert [r["meeting"] for r in body["reports"]] == ["meeting-zero", "meeting-one"]
    amy = (await api.get("amy", "/api/catchup")).json()["reports"]
    assert [r["meeting"] for r in amy] == ["meeting-one", "meeting-zero"]
    assert not any(r["missed"] for r in amy) and all(r["notice"] is None for r in amy)


async def test_a_draft_is_not_in_the_catchup(api: Api) -> None:
    """Only published reports are listed."""
    path = "/api/meetings/meeting-one/report"
    assert (await api.call("mo", "PUT", path, {"body": "concept"})).status_code == 200
    assert (await api.get("ann", "/api/catchup")).json()["reports"] == []

"""What the moderation screen reads: bans and mutes in force, the audit log with its values,
names and filters, reports with their message; each refused outside the caller's rooms."""

from __future__ import annotations

from datetime import date, timedelta

from persistence.db import Database
from tests.clients import Api
from tests.moderation.conftest import post


async def test_sanctions_audit_and_reports_for_the_screen(api: Api, database: Database) -> None:
    """Rita (area-a) lists and filters what happened in her room by name and value; the
    rooms she does not moderate are refused; mo (staff) sees every room."""
    mid = await post(database, "area-a", "amy", "Dit is het gemelde bericht")
    r = await api.post(
        "rita", "/api/rooms/area-a/mutes", {"username": "amy", "minutes": 30, "reason": "toon"}
    )
    assert r.status_code == 201, r.text
    r = await api.post("mo", "/api/rooms/theme-one/bans", {"username": "bob", "reason": "spam"})
    assert r.status_code == 201, r.text
    for seconds in (30, 0):
        r = await api.call("rita", "PATCH", "/api/rooms/area-a", {"slow_mode_seconds": seconds})
        assert r.status_code == 200, r.text

    mine = (await api.get("rita", "/api/sanctions")).json()
    assert mine["bans"] == []
    [mute] = mine["mutes"]
    assert mute["room"] == "area-a" and mute["reason"] == "toon" and mute["until"]
    assert mute["person"]["display_name"] == "Amy Arends" and mute["by_name"] == "Rita Roomhoeder"
    everything = (await api.get("mo", "/api/sanctions")).json()
    assert [b["person"]["username"] for b in everything["bans"]] == ["bob"]
    assert (await api.get("mo", "/api/sanctions?kind=ban")).json()["mutes"] == []
    assert (await api.get("rita", "/api/sanctions?room=theme-one")).status_code == 403
    assert (await api.get("ann", "/api/sanctions")).status_code == 403
    assert (await api.get(None, "/api/sanctions")).status_code == 401

    audit = (await api.get("rita", "/api/audit")).json()["entries"]
    assert {e["room"] for e in audit} == {"area-a"}  # not mo's ban in theme-one
    slow = (await api.get("rita", "/api/audit?kind=room")).json()["entries"]
    assert [(e["action"], e["values"]) for e in slow] == [
        ("set_slow_mode_seconds", {"slow_mode_seconds": 0}),
        ("set_slow_mode_seconds", {"slow_mode_seconds": 30}),
    ]
    assert slow[0]["actor_name"] == "Rita Roomhoeder" and "details" not in slow[0]
    [muted] = (await api.get("rita", "/api/audit?person=amy")).json()["entries"]
    assert muted["action"] == "mute" and muted["target_name"] == "Amy Arends"
    assert muted["values"]["minutes"] == 30 and muted["values"]["until"]
    today = date.today()
    later = (today + timedelta(days=2)).isoformat()
    assert (await api.get("rita", f"/api/audit?after={later}")).json()["entries"] == []
    earlier = (today - timedelta(days=2)).isoformat()
    assert (await api.get("rita", f"/api/audit?until={earlier}")).json()["entries"] == []
    assert len((await api.get("rita", f"/api/audit?after={earlier}")).json()["entries"]) == 3
    assert (await api.get("rita", "/api/audit?room=theme-one")).status_code == 403
    assert (await api.get("rita", "/api/audit?kind=nonsense")).status_code == 400
    assert (await api.get("mo", "/api/audit?room=theme-one&kind=sanctions")).json()["entries"][0][
        "target_name"
    ] == "Bob Bakker"

    r = await api.post("ann", f"/api/rooms/area-a/messages/{mid}/report", {"reason": "toon"})
    assert r.status_code == 201, r.text
    [report] = (await api.get("rita", "/api/reports")).json()["reports"]
    assert report["body"] == "Dit is het gemelde bericht" and report["seq"] >= 1
    assert report["reporter_name"] == "Ann Aalders" and report["author_name"] == "Amy Arends"

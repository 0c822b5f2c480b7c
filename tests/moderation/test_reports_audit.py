"""The reports queue and the append-only audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from persistence.db import Database
from tests.clients import Api
from tests.helpers import SQLITE_ONLY
from tests.moderation.conftest import audit_rows, post


async def test_reader_reports_and_moderator_resolves(api: Api, database: Database) -> None:
    """Report: 201 in the contract's shape; listed for the moderator; resolved once, audited."""
    mid = await post(database, "area-a", "amy", "twijfelachtig")
    r = await api.call(
        "ann", "POST", f"/api/rooms/area-a/messages/{mid}/report", {"reason": "toon"}
    )
    assert r.status_code == 201, r.text
    report = r.json()["report"]
    assert {k: report[k] for k in ("room", "message_id", "reporter", "reason", "status")} == {
        "room": "area-a",
        "message_id": mid,
        "reporter": "ann",
        "reason": "toon",
        "status": "open",
    }
    assert report["at"].endswith("Z") and isinstance(report["id"], int)
    again = await api.call(
        "ann", "POST", f"/api/rooms/area-a/messages/{mid}/report", {"reason": "x"}
    )
    assert again.status_code == 409
    [listed] = (await api.call("rita", "GET", "/api/reports")).json()["reports"]
    assert listed["id"] == report["id"] and listed["body"] == "twijfelachtig"
    r = await api.call("rita", "PATCH", f"/api/reports/{report['id']}", {"status": "resolved"})
    assert r.status_code == 200 and r.json()["report"]["status"] == "resolved"
    assert r.json()["report"]["handled_by"] == "rita"
    again = await api.call("rita", "PATCH", f"/api/reports/{report['id']}", {"status": "dismissed"})
    assert again.status_code == 409
    open_ = (await api.call("rita", "GET", "/api/reports?status=open")).json()["reports"]
    assert open_ == []
    [entry] = await audit_rows(database, "report_resolved")
    assert entry.target == str(mid) and entry.actor == "rita"


async def test_room_moderator_sees_only_own_rooms_reports(api: Api, database: Database) -> None:
    """Rita (area-a) does not see or handle a report in theme-one; mo sees both."""
    a = await post(database, "area-a", "amy", "a")
    t = await post(database, "theme-one", "amy", "t")
    await api.call("ann", "POST", f"/api/rooms/area-a/messages/{a}/report", {"reason": "x"})
    r = await api.call("bob", "POST", f"/api/rooms/theme-one/messages/{t}/report", {"reason": "y"})
    theirs = r.json()["report"]["id"]
    rita = (await api.call("rita", "GET", "/api/reports")).json()["reports"]
    assert [x["room"] for x in rita] == ["area-a"]
    mo = (await api.call("mo", "GET", "/api/reports")).json()["reports"]
    assert sorted(x["room"] for x in mo) == ["area-a", "theme-one"]
    assert (await api.call("rita", "GET", "/api/reports?room=theme-one")).status_code == 403
    r = await api.call("rita", "PATCH", f"/api/reports/{theirs}", {"status": "dismissed"})
    assert r.status_code == 403
    assert (
        await api.call("mo", "PATCH", "/api/reports/999999", {"status": "resolved"})
    ).status_code == 404


async def test_non_readers_cannot_report(api: Api, database: Database) -> None:
    """Bob cannot read area-a, so he cannot report there (403); an unknown message is 404."""
    mid = await post(database, "area-a", "amy", "a")
    r = await api.call("bob", "POST", f"/api/rooms/area-a/messages/{mid}/report", {"reason": "x"})
    assert r.status_code == 403
    r = await api.call("ann", "POST", "/api/rooms/area-a/messages/424242/report", {"reason": "x"})
    assert r.status_code == 404
    r = await api.call(
        "ann", "POST", f"/api/rooms/theme-one/messages/{mid}/report", {"reason": "x"}
    )
    assert r.status_code == 404  # the message is not in that room


async def test_audit_entries_have_the_contract_shape(api: Api, database: Database) -> None:
    """GET /api/audit: at, actor, action, room, target (a message id), reason; newest first."""
    mid = await post(database, "area-a", "amy", "a")
    await api.call("rita", "POST", f"/api/rooms/area-a/messages/{mid}/hide", {"reason": "spam"})
    await api.call("rita", "POST", "/api/rooms/area-a/bans", {"username": "amy", "reason": "spam"})
    entries = (await api.call("rita", "GET", "/api/audit?room=area-a")).json()["entries"]
    assert [(e["action"], e["target"], e["actor"], e["reason"], e["room"]) for e in entries] == [
        ("ban", "amy", "rita", "spam", "area-a"),
        ("hide", str(mid), "rita", "spam", "area-a"),
    ]
    assert entries[0]["at"].endswith("Z") and "source" not in entries[0]
    limited = (await api.call("mo", "GET", "/api/audit?limit=1")).json()["entries"]
    assert [e["action"] for e in limited] == ["ban"]
    admin = (await api.call("ada", "GET", "/api/audit")).json()["entries"]
    assert admin[0]["source"] == "127.0.0.1"


async def test_audit_is_scoped_and_refused_to_members(api: Api) -> None:
    """Rita sees only her rooms' entries; another room is 403; members get 403."""
    await api.call("mo", "PATCH", "/api/rooms/theme-one", {"topic": "t"})
    await api.call("rita", "PATCH", "/api/rooms/area-a", {"topic": "a"})
    rita = (await api.call("rita", "GET", "/api/audit")).json()["entries"]
    assert [e["room"] for e in rita] == ["area-a"]
    assert (await api.call("rita", "GET", "/api/audit?room=theme-one")).status_code == 403
    assert (await api.call("ann", "GET", "/api/audit")).status_code == 403
    assert (await api.call("mo", "GET", "/api/audit?room=nope")).status_code == 404


@SQLITE_ONLY
async def test_bad_report_and_audit_input_is_400(api: Api, database: Database) -> None:
    """Report without reason, bad status or limit: 400 with a message."""
    mid = await post(database, "area-a", "amy", "a")
    r = await api.call("ann", "POST", f"/api/rooms/area-a/messages/{mid}/report", {})
    assert r.status_code == 400 and "'reason'" in r.json()["error"]["message"]
    rid = (
        await api.call("ann", "POST", f"/api/rooms/area-a/messages/{mid}/report", {"reason": "x"})
    ).json()["report"]["id"]
    for body in ({"status": "open"}, {"status": "weg"}, {}, {"status": "resolved", "x": 1}):
        r = await api.call("rita", "PATCH", f"/api/reports/{rid}", body)
        assert r.status_code == 400, body
    for query in ("limit=0", "limit=x", "status=weg"):
        path = "/api/audit" if "limit" in query else "/api/reports"
        r = await api.call("mo", "GET", f"{path}?{query}")
        assert r.status_code == 400, query


async def test_audit_log_refuses_changes(api: Api, database: Database) -> None:
    """The database itself refuses UPDATE and DELETE on the audit log."""
    await api.call("rita", "PATCH", "/api/rooms/area-a", {"topic": "a"})
    for statement in ("UPDATE audit_log SET reason = 'anders'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            async with database.write() as session:
                await session.execute(text(statement))
    [entry] = await audit_rows(database)
    assert entry.details == {"topic": "a"}

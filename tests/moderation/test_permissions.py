"""Every moderation endpoint refuses members, moderators of other rooms, the logged-out, and
cookie requests from a foreign Origin; and nothing is written when it refuses."""

from __future__ import annotations

from typing import Any

from persistence.db import Database
from tests.clients import Api
from tests.moderation.conftest import audit_rows, post
from web.auth import COOKIE_NAME

Call = tuple[str, str, Any]


async def endpoints(database: Database, api: Api) -> list[Call]:
    """Every moderation call against area-b, where bob is a member and nobody here moderates."""
    mid = await post(database, "area-b", "bob", "bericht van bob")
    r = await api.call("bob", "POST", f"/api/rooms/area-b/messages/{mid}/report", {"reason": "x"})
    rid = r.json()["report"]["id"]
    await api.call(
        "mo", "POST", "/api/rooms/area-b/mutes", {"username": "bob", "minutes": 5, "reason": "x"}
    )
    room = "/api/rooms/area-b"
    return [
        ("POST", f"{room}/messages/{mid}/hide", {"reason": "x"}),
        ("POST", f"{room}/bans", {"username": "bob", "reason": "x"}),
        ("GET", f"{room}/bans", None),
        ("DELETE", f"{room}/bans/bob", None),
        ("POST", f"{room}/mutes", {"username": "bob", "minutes": 5, "reason": "x"}),
        ("GET", f"{room}/mutes", None),
        ("DELETE", f"{room}/mutes/bob", None),
        ("PATCH", room, {"topic": "overgenomen"}),
        ("PATCH", room, {"locked": True}),
        ("PATCH", room, {"archived": True}),
        ("PATCH", room, {"slow_mode_seconds": 60}),
        ("POST", f"{room}/moderators", {"username": "ann"}),
        ("DELETE", f"{room}/moderators/bob", None),
        ("POST", f"{room}/pins/{mid}", None),
        ("DELETE", f"{room}/pins/{mid}", None),
        ("POST", f"{room}/members", {"username": "ann"}),
        ("DELETE", f"{room}/members/bob", None),
        ("PATCH", f"/api/reports/{rid}", {"status": "dismissed"}),
        ("GET", "/api/reports?room=area-b", None),
        ("GET", "/api/audit?room=area-b", None),
        (
            "POST",
            "/api/meetings",
            {"slug": "m", "title": "m", "theme": "theme-one", "date": "2027-01-01", "place": "p"},
        ),
    ]


async def assert_nothing_written(api: Api, database: Database) -> None:
    assert [e.action for e in await audit_rows(database)] == ["mute"]
    events = await api.events("bob", "area-b")
    assert [e["type"] for e in events] == ["message"]
    reports = (await api.call("mo", "GET", "/api/reports")).json()["reports"]
    assert [r["status"] for r in reports] == ["open"]


async def test_non_moderators_get_403_everywhere(api: Api, database: Database) -> None:
    """A member of another area, a moderator of another room, and a member of the room: 403."""
    calls = await endpoints(database, api)
    for who in ("ann", "rita", "bob"):
        for method, path, body in calls:
            r = await api.call(who, method, path, body)
            assert r.status_code == 403, (who, method, path, r.text)
            assert r.json()["error"]["code"] == "forbidden"
    await assert_nothing_written(api, database)


async def test_global_moderator_is_no_admin(api: Api, database: Database) -> None:
    """A global moderator may moderate area-b but not add moderators or meetings."""
    calls = await endpoints(database, api)
    admin_only = [c for c in calls if "moderators" in c[1] or "meetings" in c[1]]
    for method, path, body in admin_only:
        r = await api.call("mo", method, path, body)
        assert r.status_code == 403, (method, path, r.text)


async def test_logged_out_gets_401_everywhere(api: Api, database: Database) -> None:
    """Without a session every moderation call is 401 unauthenticated."""
    mid = await post(database, "area-a", "amy", "x")
    calls = await endpoints(database, api)
    calls.append(("POST", f"/api/rooms/area-a/messages/{mid}/report", {"reason": "x"}))
    calls.append(("GET", "/api/rooms/area-a/pins", None))
    for method, path, body in calls:
        r = await api.call(None, method, path, body)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"]["code"] == "unauthenticated"


async def test_cookie_from_a_foreign_origin_is_403(api: Api, database: Database) -> None:
    """An admin's cookie sent from another site changes nothing: 403 on every state change."""
    token = await api.token("ada")
    headers = {"Cookie": f"{COOKIE_NAME}={token}", "Origin": "https://evil.example"}
    for method, path, body in await endpoints(database, api):
        if method == "GET":
            continue
        r = await api.call(None, method, path, body, headers=headers)
        assert r.status_code == 403, (method, path, r.text)
    await assert_nothing_written(api, database)
    own = {"Cookie": f"{COOKIE_NAME}={token}", "Origin": api.base}
    r = await api.call(None, "PATCH", "/api/rooms/area-b", {"topic": "t"}, headers=own)
    assert r.status_code == 200

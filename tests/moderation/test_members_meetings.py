"""Team membership of area rooms (API) and meeting rooms created by admins."""

from __future__ import annotations

from datetime import date

from persistence.db import Database
from rooms.dutchtime import from_local
from tests.clients import Api, OpenClient
from tests.helpers import SQLITE_ONLY, after_meeting_one
from tests.moderation.conftest import audit_rows


async def test_moderator_adds_and_removes_a_team_member(
    server: str, api: Api, database: Database, open_client: OpenClient
) -> None:
    """Rita adds bob to area-a (201, he reads it), removes him (204, `removed`, 403)."""
    r = await api.call("rita", "POST", "/api/rooms/area-a/members", {"username": "bob"})
    assert r.status_code == 201 and r.json()["member"] == {"room": "area-a", "username": "bob"}
    assert (await api.call("bob", "GET", "/api/rooms/area-a/events")).status_code == 200
    members = (await api.call("ann", "GET", "/api/rooms/area-a/members")).json()["members"]
    assert "bob" in [m["username"] for m in members]
    bob = await open_client(server, "bob")
    await bob.subscribe("area-a", since=None)
    assert (await api.call("rita", "DELETE", "/api/rooms/area-a/members/bob")).status_code == 204
    removed = await bob.wait_for(lambda f: f.get("type") == "removed", timeout=2)
    assert removed["room"] == "area-a"
    assert (await api.call("bob", "GET", "/api/rooms/area-a/events")).status_code == 403
    assert [e.action for e in await audit_rows(database)] == ["add_member", "remove_member"]


async def test_membership_errors(api: Api) -> None:
    """Twice: 409; not a member: 404; unknown user: 404; a theme room: 400."""
    r = await api.call("rita", "POST", "/api/rooms/area-a/members", {"username": "ann"})
    assert r.status_code == 409
    assert (await api.call("rita", "DELETE", "/api/rooms/area-a/members/bob")).status_code == 404
    r = await api.call("rita", "POST", "/api/rooms/area-a/members", {"username": "nobody"})
    assert r.status_code == 404
    r = await api.call("mo", "POST", "/api/rooms/theme-one/members", {"username": "ann"})
    assert r.status_code == 400 and "area rooms only" in r.json()["error"]["message"]


MEETING_TWO = after_meeting_one(104).isoformat()
MEETING = {
    "slug": "meeting-two",
    "title": "Bijeenkomst twee",
    "theme": "theme-two",
    "date": MEETING_TWO,
    "place": "Goes",
    "programme": "Ochtend: veldbezoek",
}


async def test_admin_creates_a_meeting_room(api: Api, database: Database) -> None:
    """POST /api/meetings: 201, a meeting and a room of kind meeting that everyone reads."""
    r = await api.call("ada", "POST", "/api/meetings", MEETING)
    assert r.status_code == 201, r.text
    body = r.json()
    starts = from_local(date.fromisoformat(MEETING_TWO))
    assert body["meeting"]["date"] == f"{starts:%Y-%m-%dT%H:%M}:00.000Z"
    assert body["meeting"]["theme"] == "theme-two" and body["meeting"]["place"] == "Goes"
    assert body["room"]["kind"] == "meeting" and body["room"]["slug"] == "meeting-two"
    rooms = (await api.call("bob", "GET", "/api/rooms")).json()["rooms"]
    assert {"slug": "meeting-two", "kind": "meeting"}.items() <= next(
        x for x in rooms if x["slug"] == "meeting-two"
    ).items()
    listed = (await api.call("bob", "GET", "/api/meetings")).json()["meetings"]
    assert [m["slug"] for m in listed] == ["meeting-one", "meeting-two"]
    assert (await api.call("ada", "POST", "/api/meetings", MEETING)).status_code == 409
    [entry] = await audit_rows(database, "create_meeting")
    assert entry.room == "meeting-two"


async def test_only_admins_create_meetings(api: Api) -> None:
    """A global moderator, a room moderator and a member get 403."""
    for who in ("mo", "rita", "ann"):
        r = await api.call(who, "POST", "/api/meetings", MEETING)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


@SQLITE_ONLY
async def test_bad_meeting_bodies_are_400(api: Api) -> None:
    """Bad slug, date or theme, missing title, unknown field: 400 naming the field."""
    cases: list[tuple[dict[str, str | None], str]] = [
        ({"slug": "Met Spaties"}, "'slug'"),
        ({"date": "15 maart"}, "'date'"),
        ({"theme": "geen-thema"}, "no theme"),
        ({"title": "  "}, "'title'"),
        ({"wanneer": "morgen"}, "unknown field 'wanneer'"),
        ({"place": None}, "'place'"),
    ]
    for change, message in cases:
        r = await api.call("ada", "POST", "/api/meetings", {**MEETING, **change})
        assert r.status_code == 400, change
        assert message in r.json()["error"]["message"], (change, r.text)

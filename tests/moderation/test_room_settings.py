"""PATCH room (topic, lock, archive, slow mode), pins and room moderators."""

from __future__ import annotations

import pytest

from chat.client import ClientError
from persistence.db import Database
from tests.clients import Api, OpenClient
from tests.helpers import SQLITE_ONLY
from tests.moderation.conftest import audit_rows, post


async def test_topic_change_is_a_room_event(api: Api, database: Database) -> None:
    """A new topic: 200 with the room, a `room_updated` event with seq, and an audit entry."""
    r = await api.call(
        "rita", "PATCH", "/api/rooms/area-a", {"topic": "Peilbesluit", "reason": "nieuw"}
    )
    assert r.status_code == 200, r.text
    room = r.json()["room"]
    assert room["topic"] == "Peilbesluit" and room["last_seq"] == 1
    [event] = await api.events("ann", "area-a")
    assert event == {
        "type": "room_updated",
        "room": "area-a",
        "seq": 1,
        "topic": "Peilbesluit",
        "by": "rita",
    }
    listed = (await api.call("ann", "GET", "/api/rooms")).json()["rooms"]
    assert next(x for x in listed if x["slug"] == "area-a")["topic"] == "Peilbesluit"
    [entry] = await audit_rows(database, "set_topic")
    assert entry.reason == "nieuw" and entry.details == {"topic": "Peilbesluit"}


async def test_lock_and_archive_make_the_room_read_only(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """Locked: `send` answers `room_locked`; archived: listed as archived; both audited."""
    r = await api.call("mo", "PATCH", "/api/rooms/theme-one", {"locked": True})
    assert r.status_code == 200 and r.json()["room"]["locked"] is True
    ann = await open_client(server, "ann")
    with pytest.raises(ClientError) as refused:
        await ann.request({"type": "send", "room": "theme-one", "body": "x", "client_id": "c1"})
    assert refused.value.code == "room_locked"
    r = await api.call("mo", "PATCH", "/api/rooms/theme-one", {"locked": False, "archived": True})
    assert r.json()["room"]["archived"] is True
    listed = (await api.call("ann", "GET", "/api/rooms")).json()["rooms"]
    assert next(x for x in listed if x["slug"] == "theme-one")["archived"] is True
    kinds = [e["type"] for e in await api.events("ann", "theme-one")]
    assert kinds == ["room_updated", "room_updated"]
    audit = (await api.call("mo", "GET", "/api/audit?room=theme-one")).json()["entries"]
    assert [e["action"] for e in audit] == ["archive", "unlock", "lock"]


async def test_unchanged_settings_write_nothing(api: Api) -> None:
    """PATCH with the values the room already has: 200, no event."""
    r = await api.call("rita", "PATCH", "/api/rooms/area-a", {"locked": False, "topic": ""})
    assert r.status_code == 200
    assert await api.events("ann", "area-a") == []


async def test_slow_mode_holds_members_back(server: str, api: Api, open_client: OpenClient) -> None:
    """slow_mode_seconds by PATCH: a member's second post is `rate_limited`; moderators not."""
    r = await api.call("rita", "PATCH", "/api/rooms/area-a", {"slow_mode_seconds": 60})
    assert r.status_code == 200 and r.json()["room"]["slow_mode_seconds"] == 60
    [event] = await api.events("ann", "area-a")
    assert event["slow_mode_seconds"] == 60
    ann, rita = await open_client(server, "ann"), await open_client(server, "rita")
    await ann.send("area-a", "eerste")
    with pytest.raises(ClientError) as refused:
        await ann.request({"type": "send", "room": "area-a", "body": "tweede", "client_id": "t2"})
    assert refused.value.code == "rate_limited"
    assert 0 < (refused.value.retry_after or 0) <= 60
    for n in range(2):
        await rita.send("area-a", f"moderator {n}")


@SQLITE_ONLY
async def test_bad_room_patches_are_400(api: Api) -> None:
    """Wrong types, unknown fields, out-of-range slow mode, an empty body: 400 with a message."""
    cases = [
        ({}, "at least one"),
        ({"locked": "yes"}, "'locked'"),
        ({"archived": 1}, "'archived'"),
        ({"topic": 5}, "'topic'"),
        ({"topic": "x" * 501}, "'topic'"),
        ({"slow_mode_seconds": -1}, "'slow_mode_seconds'"),
        ({"slow_mode_seconds": 86400}, "'slow_mode_seconds'"),
        ({"name": "nieuw"}, "unknown field 'name'"),
    ]
    for body, message in cases:
        r = await api.call("rita", "PATCH", "/api/rooms/area-a", body)
        assert r.status_code == 400, body
        assert message in r.json()["error"]["message"], (body, r.text)


async def test_pins_are_room_events_and_listed(api: Api, database: Database) -> None:
    """Pin: 201, `message_pinned`, listed for readers; unpin: 204, `message_unpinned`."""
    mid = await post(database, "theme-one", "bob", "Agenda voor 1 december")
    r = await api.call("mo", "POST", f"/api/rooms/theme-one/pins/{mid}")
    assert r.status_code == 201 and r.json()["pin"]["seq"] == 2
    again = await api.call("mo", "POST", f"/api/rooms/theme-one/pins/{mid}")
    assert again.status_code == 409
    [pin] = (await api.call("ann", "GET", "/api/rooms/theme-one/pins")).json()["pins"]
    assert pin["message_id"] == mid and pin["body"] == "Agenda voor 1 december"
    assert pin["pinned_by"] == "mo" and pin["author"]["username"] == "bob"
    assert (await api.call("mo", "DELETE", f"/api/rooms/theme-one/pins/{mid}")).status_code == 204
    assert (await api.call("mo", "DELETE", f"/api/rooms/theme-one/pins/{mid}")).status_code == 404
    assert (await api.call("ann", "GET", "/api/rooms/theme-one/pins")).json()["pins"] == []
    events = await api.events("ann", "theme-one")
    assert [(e["type"], e.get("message_id"), e.get("by")) for e in events[1:]] == [
        ("message_pinned", mid, "mo"),
        ("message_unpinned", mid, "mo"),
    ]
    assert [e.action for e in await audit_rows(database)] == ["pin", "unpin"]


async def test_hidden_messages_cannot_be_pinned(api: Api, database: Database) -> None:
    """Pinning a hidden message is 409; an unknown message 404."""
    mid = await post(database, "theme-one", "bob", "weg")
    await api.call("mo", "POST", f"/api/rooms/theme-one/messages/{mid}/hide", {"reason": "x"})
    assert (await api.call("mo", "POST", f"/api/rooms/theme-one/pins/{mid}")).status_code == 409
    assert (await api.call("mo", "POST", "/api/rooms/theme-one/pins/99999")).status_code == 404


async def test_admin_adds_room_moderator(api: Api, database: Database) -> None:
    """An admin makes bob moderator of area-a: 201; bob can then moderate there, only there."""
    r = await api.call("ada", "POST", "/api/rooms/area-a/moderators", {"username": "bob"})
    assert r.status_code == 201
    assert r.json()["moderator"] == {"room": "area-a", "username": "bob"}
    again = await api.call("ada", "POST", "/api/rooms/area-a/moderators", {"username": "bob"})
    assert again.status_code == 409
    listed = await api.call("ann", "GET", "/api/rooms/area-a/moderators")
    assert listed.json()["moderators"] == ["bob", "rita"]
    r = await api.call("bob", "PATCH", "/api/rooms/area-a", {"topic": "door bob"})
    assert r.status_code == 200
    r = await api.call("bob", "PATCH", "/api/rooms/theme-one", {"topic": "door bob"})
    assert r.status_code == 403
    r = await api.call("ada", "DELETE", "/api/rooms/area-a/moderators/bob")
    assert r.status_code == 204
    r = await api.call("bob", "PATCH", "/api/rooms/area-a", {"topic": "weer bob"})
    assert r.status_code == 403
    assert [e.action for e in await audit_rows(database) if "moderator" in e.action] == [
        "add_moderator",
        "remove_moderator",
    ]


async def test_only_admins_add_moderators(api: Api) -> None:
    """A global moderator and a room moderator get 403; unknown user and room 404."""
    for who in ("mo", "rita"):
        r = await api.call(who, "POST", "/api/rooms/area-a/moderators", {"username": "amy"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await api.call("ada", "POST", "/api/rooms/area-a/moderators", {"username": "nobody"})
    assert r.status_code == 404
    r = await api.call("ada", "POST", "/api/rooms/no-room/moderators", {"username": "amy"})
    assert r.status_code == 404

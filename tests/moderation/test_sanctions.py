"""Bans and mutes over HTTP: persisted, effective at once, audited, and validated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat.client import ClientError
from persistence.db import Database
from persistence.models import Ban
from tests.clients import Api, OpenClient
from tests.helpers import SQLITE_ONLY
from tests.moderation.conftest import audit_rows, post


async def test_ban_refuses_reading_and_is_audited(api: Api, database: Database) -> None:
    """A ban by the room moderator: 201, the user can no longer read, the audit has it."""
    r = await api.call(
        "rita", "POST", "/api/rooms/area-a/bans", {"username": "amy", "reason": "herhaald"}
    )
    assert r.status_code == 201, r.text
    ban = r.json()["ban"]
    assert ban["room"] == "area-a" and ban["username"] == "amy" and ban["until"] is None
    assert ban["by"] == "rita" and ban["reason"] == "herhaald"
    refused = await api.call("amy", "GET", "/api/rooms/area-a/events")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    rooms = (await api.call("amy", "GET", "/api/rooms")).json()["rooms"]
    assert "area-a" not in [room["slug"] for room in rooms]
    [entry] = await audit_rows(database, "ban")
    assert (entry.actor, entry.room, entry.target, entry.reason) == (
        "rita",
        "area-a",
        "amy",
        "herhaald",
    )
    assert entry.source == "127.0.0.1"


async def test_lifting_a_ban_restores_access(api: Api, database: Database) -> None:
    """DELETE the ban: 204 and reading works again; a second DELETE is 404."""
    await api.call("mo", "POST", "/api/rooms/area-a/bans", {"username": "amy", "reason": "x"})
    r = await api.call("mo", "DELETE", "/api/rooms/area-a/bans/amy")
    assert r.status_code == 204
    assert (await api.call("amy", "GET", "/api/rooms/area-a/events")).status_code == 200
    again = await api.call("mo", "DELETE", "/api/rooms/area-a/bans/amy")
    assert again.status_code == 404 and "not banned" in again.json()["error"]["message"]
    assert [e.action for e in await audit_rows(database)][-2:] == ["ban", "unban"]
    async with database.read() as session:  # lifted, not deleted: the row stays as history
        assert len((await session.execute(Ban.__table__.select())).all()) == 1


async def test_timed_ban_ends_by_itself(api: Api, database: Database) -> None:
    """A ban with `until` is stored with that end; once past, the user reads again."""
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    r = await api.call(
        "mo",
        "POST",
        "/api/rooms/area-a/bans",
        {"username": "amy", "reason": "afkoelen", "until": until.isoformat()},
    )
    assert r.status_code == 201
    assert r.json()["ban"]["until"] == until.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    async with database.write() as session:
        ban = await session.get(Ban, (1, (await _user_id(session, "amy"))))
        assert ban is not None and ban.until == until
        ban.until = datetime.now(UTC) - timedelta(seconds=1)
    assert (await api.call("amy", "GET", "/api/rooms/area-a/events")).status_code == 200


async def _user_id(session: object, username: str) -> int:
    from persistence.accounts import user_by_name

    user = await user_by_name(session, username)  # type: ignore[arg-type]
    assert user is not None
    return user.id


BAD_BANS = [
    ({"reason": "x"}, "'username'"),
    ({"username": "amy"}, "'reason'"),
    ({"username": "amy", "reason": "  "}, "say why"),
    ({"username": "amy", "reason": "x", "until": "morgen"}, "'until'"),
    ({"username": "amy", "reason": "x", "until": "2001-01-01T00:00:00Z"}, "past"),
    ({"username": "amy", "reason": "x", "until": 5}, "'until'"),
    ({"username": "amy", "reason": "x", "duur": 5}, "unknown field 'duur'"),
    ([1, 2], "JSON object"),
]


@SQLITE_ONLY
async def test_bad_ban_bodies_are_400(api: Api, database: Database) -> None:
    """Every malformed ban body is a 400 bad_request saying what is wrong; nothing is written."""
    for body, message in BAD_BANS:
        r = await api.call("rita", "POST", "/api/rooms/area-a/bans", body)
        assert r.status_code == 400, body
        assert r.json()["error"]["code"] == "bad_request"
        assert message in r.json()["error"]["message"], (body, r.text)
    assert await audit_rows(database) == []


async def test_ban_refusals(api: Api) -> None:
    """Unknown user: 404; a global moderator or oneself: refused (403, 400)."""
    r = await api.call(
        "rita", "POST", "/api/rooms/area-a/bans", {"username": "nobody", "reason": "x"}
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.call("rita", "POST", "/api/rooms/area-a/bans", {"username": "mo", "reason": "x"})
    assert r.status_code == 403
    r = await api.call(
        "rita", "POST", "/api/rooms/area-a/bans", {"username": "rita", "reason": "x"}
    )
    assert r.status_code == 400


async def test_mute_persists_and_lists(api: Api, database: Database) -> None:
    """A mute of N minutes: 201 with its end, listed for moderators, lifted with DELETE."""
    before = datetime.now(UTC)
    r = await api.call(
        "rita", "POST", "/api/rooms/area-a/mutes", {"username": "amy", "minutes": 10, "reason": "x"}
    )
    assert r.status_code == 201, r.text
    until = datetime.fromisoformat(r.json()["mute"]["until"])
    assert timedelta(minutes=9) < until - before < timedelta(minutes=11)
    listed = (await api.call("rita", "GET", "/api/rooms/area-a/mutes")).json()["mutes"]
    assert [m["username"] for m in listed] == ["amy"]
    assert (await api.call("amy", "GET", "/api/rooms/area-a/events")).status_code == 200
    assert (await api.call("rita", "DELETE", "/api/rooms/area-a/mutes/amy")).status_code == 204
    assert (await api.call("rita", "GET", "/api/rooms/area-a/mutes")).json()["mutes"] == []
    [entry] = await audit_rows(database, "mute")
    assert entry.details["minutes"] == 10


@SQLITE_ONLY
async def test_bad_mute_minutes_are_400(api: Api) -> None:
    """`minutes` must be a whole number within bounds."""
    for minutes in (0, "10", True, None, 10**9):
        r = await api.call(
            "rita",
            "POST",
            "/api/rooms/area-a/mutes",
            {"username": "amy", "minutes": minutes, "reason": "x"},
        )
        assert r.status_code == 400, minutes
        assert "'minutes'" in r.json()["error"]["message"]


async def test_ban_removes_open_connection(server: str, api: Api, open_client: OpenClient) -> None:
    """The banned user's open connection gets `removed` for the room, at once."""
    amy = await open_client(server, "amy")
    await amy.subscribe("area-a", since=None)
    r = await api.call("rita", "POST", "/api/rooms/area-a/bans", {"username": "amy", "reason": "x"})
    assert r.status_code == 201
    removed = await amy.wait_for(lambda f: f.get("type") == "removed", timeout=2)
    assert removed["room"] == "area-a"
    with pytest.raises(ClientError) as refused:
        await amy.subscribe("area-a", since=0)
    assert refused.value.code == "forbidden"


async def test_muted_user_send_is_refused(server: str, api: Api, open_client: OpenClient) -> None:
    """While muted, `send` answers `muted`; the user still reads the room."""
    r = await api.call(
        "rita", "POST", "/api/rooms/area-a/mutes", {"username": "amy", "minutes": 5, "reason": "x"}
    )
    assert r.status_code == 201
    amy = await open_client(server, "amy")
    await amy.subscribe("area-a", since=0)
    with pytest.raises(ClientError) as refused:
        await amy.request({"type": "send", "room": "area-a", "body": "hoi", "client_id": "m1"})
    assert refused.value.code == "muted"


async def test_hidden_message_is_pushed_to_subscribers(
    server: str, api: Api, database: Database, open_client: OpenClient
) -> None:
    """A subscriber receives `message_hidden` as soon as the moderator hides."""
    mid = await post(database, "area-a", "amy", "weg ermee")
    ann = await open_client(server, "ann")
    await ann.subscribe("area-a", since=None)
    r = await api.call("rita", "POST", f"/api/rooms/area-a/messages/{mid}/hide", {"reason": "x"})
    assert r.status_code == 200
    frame = await ann.wait_for(lambda f: f.get("type") == "message_hidden", timeout=2)
    assert frame["message_id"] == mid and frame["seq"] == r.json()["seq"]

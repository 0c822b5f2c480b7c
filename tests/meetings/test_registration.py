"""Registration for a meeting: capacity, waitlist, moving up, closing, the presence list."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from persistence.db import Database
from persistence.models import Registration, utcnow
from tests.clients import Api, OpenClient
from tests.helpers import SQLITE_ONLY, after_meeting_one

M = "/api/meetings/meeting-one"
EVERYONE = ("ann", "amy", "bob", "rita", "mo", "ada")


async def answer(api: Api, user: str, status: str, meeting: str = M) -> dict[str, Any]:
    r = await api.call(user, "PUT", f"{meeting}/registration", {"status": status})
    assert r.status_code == 200, r.text
    got: dict[str, Any] = r.json()["registration"]
    return got


async def patch(api: Api, body: dict[str, Any], meeting: str = M) -> dict[str, Any]:
    r = await api.call("ada", "PATCH", meeting, body)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["meeting"]
    return found


async def meeting(api: Api, user: str, path: str = M) -> dict[str, Any]:
    r = await api.get(user, path)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["meeting"]
    return found


async def test_the_whole_registration_life(api: Api, server: str, open_client: OpenClient) -> None:
    """Going, the waitlist with positions, leaving moves the first up (told at once)."""
    await patch(api, {"capacity": 1})
    amy_ws = await open_client(server, "amy")
    assert await answer(api, "ann", "going") == {"status": "going", "position": None}
    assert await answer(api, "amy", "going") == {"status": "waitlist", "position": 1}
    assert await answer(api, "bob", "going") == {"status": "waitlist", "position": 2}
    assert await answer(api, "amy", "going") == {"status": "waitlist", "position": 1}
    assert await answer(api, "rita", "maybe") == {"status": "maybe", "position": None}
    seen = await meeting(api, "bob")
    assert seen["counts"] == {
        "going": 1,
        "maybe": 1,
        "waitlist": 2,
        "by_layer": {"rijk": 0, "provincie": 0, "gemeente": 1, "waterschap": 0, "overig": 0},
    }
    assert seen["my_registration"] == "waitlist" and seen["my_position"] == 2

    assert await answer(api, "ann", "not_going") == {"status": "not_going", "position": None}
    notice = await amy_ws.wait_for(lambda f: f.get("type") == "notice")
    assert notice["kind"] == "moved_up" and notice["meeting"] == "meeting-one"
    assert (await meeting(api, "amy"))["my_registration"] == "going"
    assert (await meeting(api, "bob"))["my_position"] == 1

    await patch(api, {"capacity": None})
    assert (await meeting(api, "bob"))["my_registration"] == "going"
    r = await api.get("ann", M)
    going = [p["username"] for p in r.json()["going"]]
    assert sorted(going) == ["amy", "bob"]


async def test_registration_closes(api: Api) -> None:
    """After the closing time, once started, and when cancelled: 409 conflict."""
    past = (utcnow() - timedelta(hours=1)).isoformat()
    await patch(api, {"registration_closes_at": past})
    r = await api.call("ann", "PUT", f"{M}/registration", {"status": "going"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    await patch(api, {"registration_closes_at": None})
    assert (await answer(api, "ann", "going"))["status"] == "going"
    await patch(api, {"status": "cancelled", "reason": "zaal niet beschikbaar"})
    r = await api.call("ann", "PUT", f"{M}/registration", {"status": "maybe"})
    assert r.status_code == 409
    await patch(api, {"status": "planned", "date": (utcnow() - timedelta(hours=1)).isoformat()})
    r = await api.call("ann", "PUT", f"{M}/registration", {"status": "not_going"})
    assert r.status_code == 409


async def test_going_at_once_fills_the_places_exactly(api: Api, database: Database) -> None:
    """Six at once for two places: two going, four waiting in distinct places; then two
    leaving at once move exactly two up."""
    await patch(api, {"capacity": 2})
    for user in EVERYONE:
        await api.token(user)
    got = await asyncio.gather(*(answer(api, u, "going") for u in EVERYONE))
    statuses = sorted(g["status"] for g in got)
    assert statuses == ["going", "going"] + ["waitlist"] * 4
    assert sorted(g["position"] for g in got if g["position"]) == [1, 2, 3, 4]
    leaving = [u for u, g in zip(EVERYONE, got, strict=True) if g["status"] == "going"]
    await asyncio.gather(*(answer(api, u, "not_going") for u in leaving))
    async with database.read() as s:
        rows = (await s.execute(select(Registration.status))).scalars().all()
    assert sorted(rows) == ["going", "going", "not_going", "not_going", "waitlist", "waitlist"]
    counts = (await meeting(api, "ann"))["counts"]
    assert counts["going"] == 2 and counts["waitlist"] == 2


async def test_presence_list_and_attendance(api: Api) -> None:
    """Moderators and admins see the list (and its CSV); attendance from the start only."""
    await answer(api, "ann", "going")
    await answer(api, "amy", "going")
    await answer(api, "bob", "maybe")
    assert (await api.get("ann", f"{M}/registrations")).status_code == 403
    r = await api.get("mo", f"{M}/registrations")
    assert r.status_code == 200, r.text
    rows = r.json()["registrations"]
    assert [(x["user"]["username"], x["status"]) for x in rows] == [
        ("ann", "going"),
        ("amy", "going"),
        ("bob", "maybe"),
    ]
    assert rows[0]["attended"] is None and rows[0]["registered_at"].endswith("Z")
    r = await api.get("ada", f"{M}/registrations?format=csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0].startswith("username,display_name,organisation,layer,status")
    assert "Ann Aalders" in r.text

    body = {"present": ["ann"]}
    r = await api.post("mo", f"{M}/attendance", body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    await patch(api, {"date": (utcnow() - timedelta(hours=2)).isoformat()})
    assert (await api.post("ann", f"{M}/attendance", body)).status_code == 403
    r = await api.post("mo", f"{M}/attendance", body)
    assert r.status_code == 200, r.text
    rows = (await api.get("mo", f"{M}/registrations")).json()["registrations"]
    assert {x["user"]["username"]: x["attended"] for x in rows} == {
        "ann": True,
        "amy": False,
        "bob": None,
    }


@SQLITE_ONLY
async def test_bad_input_gets_the_contracts_codes(api: Api) -> None:
    """Negative capacity, a bad date, unknown fields and statuses: 400; members: 403."""
    for body in (
        {"capacity": -1},
        {"date": "1 december"},
        {"registration_closes_at": "morgen"},
        {"status": "gone"},
        {"colour": "red"},
        {"registration_closes_at": after_meeting_one(3).isoformat()},
    ):
        r = await api.call("ada", "PATCH", M, body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == "bad_request"
    assert (await api.call("mo", "PATCH", M, {"title": "x"})).status_code == 403
    assert (await api.call("ada", "PATCH", "/api/meetings/nope", {"title": "x"})).status_code == 404
    r = await api.call("ann", "PUT", f"{M}/registration", {"status": "waitlist"})
    assert r.status_code == 400
    r = await api.call("ann", "PUT", "/api/meetings/nope/registration", {"status": "going"})
    assert r.status_code == 404
    new = {
        "slug": "negatief",
        "title": "Te klein",
        "theme": "theme-one",
        "date": after_meeting_one(10).isoformat(),
        "place": "Utrecht",
        "capacity": -5,
    }
    r = await api.post("ada", "/api/meetings", new)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = await api.post("ada", "/api/meetings", {**new, "capacity": 5, "date": "2026-13-45"})
    assert r.status_code == 400
    assert (await api.get(None, "/api/meetings")).status_code == 401

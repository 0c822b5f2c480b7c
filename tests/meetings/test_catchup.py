"""GET /api/catchup and POST /api/catchup/read, end to end, including what stays hidden."""

from __future__ import annotations

from typing import Any

from tests.clients import Api
from tests.helpers import SQLITE_ONLY
from tests.meetings.conftest import Store, days_ago


def room(body: dict[str, Any], slug: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [r for r in body["rooms"] if r["slug"] == slug]
    assert found, f"{slug} not in the catch-up"
    return found[0]


async def scene(api: Api, store: Store) -> dict[str, int]:
    """A meeting a week ago; messages before and after it in three rooms."""
    await store.meeting("meeting-zero", "theme-one", days_ago(7))
    await store.post("theme-one", "bob", "Oud nieuws", at=days_ago(10))
    await store.post("area-a", "amy", "Ook oud, @ann", at=days_ago(9))
    ids = {
        "t1": await store.post("theme-one", "bob", "Nieuw na de bijeenkomst"),
        "t2": await store.post("theme-one", "ann", "Mijn eigen bericht"),
        "q": await store.post("area-a", "amy", "Vraag aan @ann: klopt de planning?"),
        "d": await store.post("area-a", "rita", "We doen het zo."),
        "secret": await store.post("area-b", "bob", "Geheim voor @ann en gebied A"),
    }
    assert (
        await api.post("amy", f"/api/rooms/area-a/messages/{ids['q']}/mark", {"kind": "vraag"})
    ).is_success
    assert (
        await api.post("rita", f"/api/rooms/area-a/messages/{ids['d']}/mark", {"kind": "besluit"})
    ).is_success
    secret_mark = {"kind": "besluit"}
    assert (
        await api.post("bob", f"/api/rooms/area-b/messages/{ids['secret']}/mark", secret_mark)
    ).is_success
    return ids


async def test_since_last_meeting(api: Api, store: Store) -> None:
    """Counts, mentions, open questions and decisions since the meeting a week ago."""
    ids = await scene(api, store)
    r = await api.get("ann", "/api/catchup?since=last_meeting")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["since"] == "last_meeting"
    assert body["previous_meeting"]["slug"] == "meeting-zero"
    assert body["next_meeting"]["slug"] == "meeting-one"
    assert body["next_meeting"]["theme_room"] == "theme-one"
    theme = room(body, "theme-one")
    assert theme["new_messages"] == 1 and theme["from_seq"] == 1
    area = room(body, "area-a")
    assert area["new_messages"] == 2
    assert [m["message_id"] for m in area["mentions"]] == [ids["q"]]
    assert area["mentions"][0]["author"]["username"] == "amy"
    assert [q["message_id"] for q in area["open_questions"]] == [ids["q"]]
    assert [d["message_id"] for d in area["decisions"]] == [ids["d"]]
    assert body["totals"]["mentions"] == 1 and body["totals"]["decisions"] == 1


async def test_catchup_never_shows_unreadable_rooms(api: Api, store: Store) -> None:
    """A mention and a decision in area-b never reach ann; bob sees his own area."""
    await scene(api, store)
    body = (await api.get("ann", "/api/catchup")).json()
    assert "area-b" not in [r["slug"] for r in body["rooms"]]
    assert "area-b" not in body["read_up_to"]
    assert "Geheim" not in str(body)
    bob = (await api.get("bob", "/api/catchup")).json()
    assert "area-a" not in [r["slug"] for r in bob["rooms"]]
    assert len(room(bob, "area-b")["decisions"]) == 1


async def test_mark_all_read_then_since_last_visit(api: Api, store: Store) -> None:
    """ "Mark all read up to here" empties the last-visit catch-up until something new comes."""
    await scene(api, store)
    before = (await api.get("ann", "/api/catchup?since=last_visit")).json()
    assert room(before, "theme-one")["new_messages"] == 2
    r = await api.post("ann", "/api/catchup/read", {"rooms": before["read_up_to"]})
    assert r.status_code == 200, r.text
    assert r.json()["rooms"] == before["read_up_to"]
    after = (await api.get("ann", "/api/catchup?since=last_visit")).json()
    assert all(r["new_messages"] == 0 and not r["mentions"] for r in after["rooms"])
    assert after["read_up_to"] == {}
    rooms = (await api.get("ann", "/api/rooms")).json()["rooms"]
    assert all(r["unread"] == 0 for r in rooms)
    await store.post("theme-one", "amy", "Nog iets, @ann")
    later = (await api.get("ann", "/api/catchup?since=last_visit")).json()
    assert room(later, "theme-one")["new_messages"] == 1
    assert len(room(later, "theme-one")["mentions"]) == 1


async def test_new_members_since_the_meeting(api: Api, store: Store) -> None:
    """Who joined an area after the last meeting is listed for that area's other readers,
    never to the one who joined."""
    await store.meeting("meeting-zero", "theme-one", days_ago(7))
    await store.joined("bob", "area-a", days_ago(1))
    body = (await api.get("ann", "/api/catchup")).json()
    assert "bob" in [m["username"] for m in room(body, "area-a")["new_members"]]
    assert "ann" not in [m["username"] for r in body["rooms"] for m in r["new_members"]]
    mine = (await api.get("bob", "/api/catchup")).json()
    listed = [m["username"] for r in mine["rooms"] for m in r["new_members"]]
    assert "bob" not in listed


async def test_read_refuses_rooms_the_member_may_not_read(api: Api, store: Store) -> None:
    """403 for another area, 404 for an unknown room, and nothing is written."""
    await store.post("area-b", "bob", "B")
    await store.post("theme-one", "bob", "T")
    r = await api.post("ann", "/api/catchup/read", {"rooms": {"theme-one": 1, "area-b": 1}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await api.post("ann", "/api/catchup/read", {"rooms": {"nowhere": 1}})
    assert r.status_code == 404
    rooms = {r["slug"]: r for r in (await api.get("ann", "/api/rooms")).json()["rooms"]}
    assert rooms["theme-one"]["read_seq"] == 0


@SQLITE_ONLY
async def test_catchup_input_is_validated(api: Api, store: Store) -> None:
    """Unknown `since`, bad bodies and seqs past the end are 400; no session is 401."""
    await store.post("theme-one", "bob", "T")
    assert (await api.get("ann", "/api/catchup?since=gisteren")).status_code == 400
    assert (await api.get(None, "/api/catchup")).status_code == 401
    assert (
        await api.post(None, "/api/catchup/read", {"rooms": {"theme-one": 1}})
    ).status_code == 401
    bodies: list[dict[str, Any]] = [
        {},
        {"rooms": []},
        {"rooms": {"theme-one": -1}},
        {"rooms": {"theme-one": "1"}},
    ]
    for body in bodies:
        assert (await api.post("ann", "/api/catchup/read", body)).status_code == 400, body
    r = await api.post("ann", "/api/catchup/read", {"rooms": {"theme-one": 5}})
    assert r.status_code == 400

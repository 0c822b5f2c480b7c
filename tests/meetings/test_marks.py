"""Marking vraag, besluit and actiepunt; answering; theme tags: room events, end to end."""

from __future__ import annotations

from tests.clients import Api, OpenClient
from tests.helpers import MEETING_ONE, SQLITE_ONLY, after_meeting_one
from tests.meetings.conftest import Store

MSG = "/api/rooms/{room}/messages/{id}"


def url(room: str, message_id: int, what: str) -> str:
    return MSG.format(room=room, id=message_id) + "/" + what


async def stream(api: Api, user: str, room: str) -> list[dict[str, object]]:
    r = await api.get(user, f"/api/rooms/{room}/events?after=0")
    assert r.status_code == 200, r.text
    events: list[dict[str, object]] = r.json()["events"]
    return events


async def test_mark_is_a_room_event_with_seq(api: Api, store: Store) -> None:
    """A besluit is the room's next event; the events API replays it with kind and marker."""
    mid = await store.post("theme-one", "ann", "We kiezen voor variant B.")
    r = await api.post("amy", url("theme-one", mid, "mark"), {"kind": "besluit"})
    assert r.status_code == 200, r.text
    event = r.json()["event"]
    assert event["type"] == "message_marked" and event["seq"] == 2
    assert event["kind"] == "besluit" and event["by"] == "amy" and event["message_id"] == mid
    assert event["due"] is None and event["owner"] is None
    assert (await stream(api, "bob", "theme-one"))[-1] == event


async def test_action_item_due_defaults_to_next_meeting(api: Api, store: Store) -> None:
    """An actiepunt without a due date is due at the room's next meeting, with its owner."""
    later = after_meeting_one(45).isoformat()
    mid = await store.post("area-a", "ann", "Wie belt het waterschap?")
    r = await api.post("rita", url("area-a", mid, "mark"), {"kind": "actiepunt", "owner": "amy"})
    assert r.status_code == 200, r.text
    assert (
        r.json()["event"]["due"] == MEETING_ONE.isoformat() and r.json()["event"]["owner"] == "amy"
    )
    r = await api.post("ann", url("area-a", mid, "mark"), {"kind": "actiepunt", "due": later})
    assert r.json()["event"]["due"] == later and r.json()["event"]["seq"] == 3


async def test_marks_are_live_for_subscribers(
    server: str, api: Api, store: Store, open_client: OpenClient
) -> None:
    """A subscriber of the room receives message_marked and question_answered in seq order."""
    q = await store.post("theme-one", "ann", "Wat kost het?")
    a = await store.post("theme-one", "bob", "Ongeveer een ton.", reply_to=q)
    ws = await open_client(server, "amy")
    await ws.subscribe("theme-one", since=2)
    assert (await api.post("ann", url("theme-one", q, "mark"), {"kind": "vraag"})).is_success
    r = await api.post("ann", url("theme-one", q, "answered"), {"reply_id": a})
    assert r.status_code == 200, r.text
    frame = await ws.wait_for(lambda f: f.get("type") == "question_answered")
    assert frame == {**r.json()["event"]} and frame["reply_id"] == a and frame["seq"] == 4
    marked = [f for f in ws.events["theme-one"] if f.get("type") == "message_marked"]
    assert [f["seq"] for f in marked] == [3]


async def test_tags_replace_the_themes(api: Api, store: Store) -> None:
    """Tagging sets the message's themes (deduplicated) and is a room event."""
    mid = await store.post("area-a", "amy", "Dit raakt ook de energietransitie.")
    body = {"themes": ["theme-one", "theme-two", "theme-one"]}
    r = await api.post("amy", url("area-a", mid, "tags"), body)
    assert r.status_code == 200, r.text
    assert r.json()["event"]["themes"] == ["theme-one", "theme-two"]
    r = await api.post("ann", url("area-a", mid, "tags"), {"themes": []})
    assert r.json()["event"]["themes"] == [] and r.json()["event"]["type"] == "message_tagged"


async def test_marking_needs_read_and_post_rights(api: Api, store: Store) -> None:
    """Outsiders get 403, strangers 401, unknown rooms and messages 404."""
    mid = await store.post("area-a", "ann", "Intern punt")
    other = await store.post("area-b", "bob", "Elders")
    mark = {"kind": "vraag"}
    assert (await api.post("bob", url("area-a", mid, "mark"), mark)).status_code == 403
    assert (await api.post("bob", url("area-a", mid, "tags"), {"themes": []})).status_code == 403
    assert (await api.post(None, url("area-a", mid, "mark"), mark)).status_code == 401
    assert (await api.post("ann", url("nowhere", mid, "mark"), mark)).status_code == 404
    assert (await api.post("ann", url("area-a", other, "mark"), mark)).status_code == 404
    assert (await api.post("ann", url("area-a", 999999, "mark"), mark)).status_code == 404
    r = await api.post("ann", "/api/rooms/area-a/messages/abc/mark", mark)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_only_marker_author_or_moderator_change_a_mark(api: Api, store: Store) -> None:
    """Another member cannot overrule a mark; the room's moderator can."""
    mid = await store.post("area-a", "ann", "Volgens mij is dit besloten.")
    assert (await api.post("amy", url("area-a", mid, "mark"), {"kind": "besluit"})).is_success
    r = await api.post("bob", url("area-a", mid, "mark"), {"kind": "vraag"})
    assert r.status_code == 403
    tid = await store.post("theme-one", "ann", "Besluit?")
    assert (await api.post("amy", url("theme-one", tid, "mark"), {"kind": "besluit"})).is_success
    r = await api.post("bob", url("theme-one", tid, "mark"), {"kind": "vraag"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await api.post("rita", url("area-a", mid, "mark"), {"kind": "vraag"})).is_success
    assert (await api.post("ann", url("area-a", mid, "mark"), {"kind": "actiepunt"})).is_success


async def test_answering_rules(api: Api, store: Store) -> None:
    """Only a vraag is answered, by the asker, marker or a moderator, with a later message."""
    early = await store.post("theme-one", "bob", "Vooraf")
    q = await store.post("theme-one", "ann", "Hoe zit het?")
    a = await store.post("theme-one", "bob", "Zo.", reply_to=q)
    d = await store.post("theme-one", "amy", "Besloten.")
    assert (await api.post("amy", url("theme-one", d, "mark"), {"kind": "besluit"})).is_success
    r = await api.post("amy", url("theme-one", d, "answered"), {"reply_id": a})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = await api.post("ann", url("theme-one", q, "answered"), {"reply_id": a})
    assert r.status_code == 409
    assert (await api.post("amy", url("theme-one", q, "mark"), {"kind": "vraag"})).is_success
    r = await api.post("bob", url("theme-one", q, "answered"), {"reply_id": a})
    assert r.status_code == 403
    r = await api.post("ann", url("theme-one", q, "answered"), {"reply_id": early})
    assert r.status_code == 400
    r = await api.post("ann", url("theme-one", q, "answered"), {"reply_id": 999999})
    assert r.status_code == 400
    assert (await api.post("mo", url("theme-one", q, "answered"), {"reply_id": a})).is_success


@SQLITE_ONLY
async def test_mark_input_is_validated(api: Api, store: Store) -> None:
    """Bad kinds, dates, owners and tag lists are 400 bad_request."""
    mid = await store.post("area-a", "ann", "Iets")
    for body in (
        {},
        {"kind": "besluiten"},
        {"kind": "actiepunt", "due": "volgende week"},
        {"kind": "besluit", "owner": "ann"},
        {"kind": "actiepunt", "owner": "bob"},
        {"kind": "actiepunt", "owner": "nobody"},
        {"kind": "actiepunt", "owner": 3},
    ):
        r = await api.post("ann", url("area-a", mid, "mark"), body)
        assert r.status_code == 400, body
        assert r.json()["error"]["code"] == "bad_request"
    for tags in ({"themes": "theme-one"}, {"themes": ["nope"]}, {"themes": ["Bad Slug"]}):
        assert (await api.post("ann", url("area-a", mid, "tags"), tags)).status_code == 400
    r = await api.post("ann", url("area-a", mid, "answered"), {"reply_id": "x"})
    assert r.status_code == 400


async def test_unmark(api: Api, store: Store) -> None:
    """DELETE .../mark removes it as a room event (a moderator too); outsiders 403; 404 after."""
    mid = await store.post("area-a", "ann", "Toch geen besluit")
    assert (await api.post("amy", url("area-a", mid, "mark"), {"kind": "besluit"})).is_success
    path = url("area-a", mid, "mark")
    assert (await api.call("rita", "DELETE", path)).status_code == 200
    assert (await api.post("amy", path, {"kind": "vraag"})).is_success
    assert (await api.call("bob", "DELETE", path)).status_code == 403
    r = await api.call("ann", "DELETE", path)
    assert r.status_code == 200, r.text
    assert r.json()["event"] == {
        "type": "message_unmarked",
        "room": "area-a",
        "seq": 5,
        "message_id": mid,
        "by": "ann",
    }
    assert (await api.call("ann", "DELETE", path)).status_code == 404
    agenda = (await api.get("ann", "/api/meetings/meeting-one/agenda")).json()
    assert agenda["open_questions"] == []

"""An actiepunt runs its course: open, bezig, gedaan, vervallen; the agenda lists it as done."""

from __future__ import annotations

from tests.clients import Api
from tests.meetings.conftest import Store

MSG = "/api/rooms/{room}/messages/{id}/{what}"


def url(room: str, message_id: int, what: str) -> str:
    return MSG.format(room=room, id=message_id, what=what)


async def test_status_by_owner_author_or_moderator(api: Api, store: Store) -> None:
    """Each change is a room event; others than the owner, author or a moderator get 403."""
    mid = await store.post("theme-one", "ann", "Wie schrijft de notitie?")
    r = await api.post("bob", url("theme-one", mid, "mark"), {"kind": "actiepunt", "owner": "amy"})
    assert r.status_code == 200, r.text
    r = await api.post("bob", url("theme-one", mid, "status"), {"status": "bezig"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    for who, status in (("amy", "bezig"), ("ann", "gedaan"), ("mo", "open")):
        r = await api.post(who, url("theme-one", mid, "status"), {"status": status})
        assert r.status_code == 200, r.text
        event = r.json()["event"]
        assert event["type"] == "action_status_changed" and event["status"] == status
        assert event["by"] == who and event["message_id"] == mid
    events = await api.events("bob", "theme-one")
    assert [e["status"] for e in events if e["type"] == "action_status_changed"] == [
        "bezig",
        "gedaan",
        "open",
    ]
    r = await api.post("ann", url("theme-one", mid, "status"), {"status": "klaar"})
    assert r.status_code == 400
    vraag = await store.post("theme-one", "ann", "Wat kost het?")
    await api.post("ann", url("theme-one", vraag, "mark"), {"kind": "vraag"})
    r = await api.post("ann", url("theme-one", vraag, "status"), {"status": "gedaan"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


async def test_agenda_lists_finished_actions_as_afgerond(api: Api, store: Store) -> None:
    """Gedaan or vervallen: off the open items, on "afgerond sinds de vorige bijeenkomst"."""
    done = await store.post("theme-one", "ann", "Rapport opsturen")
    dropped = await store.post("theme-one", "ann", "Zaal reserveren")
    pending = await store.post("theme-one", "ann", "Sprekers vragen")
    for mid in (done, dropped, pending):
        await api.post("ann", url("theme-one", mid, "mark"), {"kind": "actiepunt"})
    await api.post("ann", url("theme-one", done, "status"), {"status": "gedaan"})
    await api.post("ann", url("theme-one", dropped, "status"), {"status": "vervallen"})
    await api.post("ann", url("theme-one", pending, "status"), {"status": "bezig"})
    agenda = (await api.get("ann", "/api/meetings/meeting-one/agenda")).json()
    assert [i["message_id"] for i in agenda["action_items"]] == [pending]
    assert agenda["action_items"][0]["status"] == "bezig"
    finished = {i["message_id"]: i["status"] for i in agenda["completed_actions"]}
    assert finished == {done: "gedaan", dropped: "vervallen"}
    md = (await api.get("mo", "/api/meetings/meeting-one/agenda?format=md")).text
    section = md.split("## Afgerond sinds de vorige bijeenkomst")[1]
    assert "Rapport opsturen" in section and "Sprekers vragen" not in section
    r = await api.get("ann", "/api/search?q=rapport&mark=actiepunt&open=true")
    assert r.status_code == 200 and r.json()["hits"] == []


async def test_meeting_page_shows_no_area_room_to_outsiders(api: Api, store: Store) -> None:
    """An actiepunt of area-a, finished or not, is on meeting-one's agenda for its members
    only; the meeting itself says nothing of it."""
    secret = "Kievitsbloem-overleg plannen"
    open_item = await store.post("area-a", "ann", secret)
    done = await store.post("area-a", "ann", f"{secret} (klaar)")
    for mid in (open_item, done):
        await api.post("ann", url("area-a", mid, "mark"), {"kind": "actiepunt"})
    await api.post("ann", url("area-a", done, "status"), {"status": "gedaan"})
    mine = (await api.get("ann", "/api/meetings/meeting-one/agenda")).json()
    assert [i["message_id"] for i in mine["action_items"]] == [open_item]
    assert [i["message_id"] for i in mine["completed_actions"]] == [done]
    for path in ("/api/meetings/meeting-one/agenda", "/api/meetings/meeting-one"):
        r = await api.get("bob", path)
        assert r.status_code == 200 and "Kievitsbloem" not in r.text and "area-a" not in r.text

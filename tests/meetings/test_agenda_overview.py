"""The meeting's draft agenda (JSON and Markdown) and the area × theme × layer overview."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from tests.clients import Api
from tests.helpers import MEETING_ONE, SQLITE_ONLY, after_meeting_one, dutch_date
from tests.meetings.conftest import Store

MARK = "/api/rooms/{}/messages/{}/mark"
MEETING_TWO = after_meeting_one(42)


async def mark(api: Api, user: str, room: str, mid: int, **body: Any) -> None:
    r = await api.post(user, MARK.format(room, mid), body)
    assert r.status_code == 200, r.text


async def agenda_scene(api: Api, store: Store) -> dict[str, int]:
    """Items for meeting-one; a theme-two question goes to theme-two's own later meeting."""
    await store.meeting("meeting-two", "theme-two", datetime.combine(MEETING_TWO, time(10), UTC))
    ids = {
        "theme_q": await store.post("theme-one", "bob", "Wie betaalt de dijkverzwaring?"),
        "area_a": await store.post("area-a", "ann", "Actie: vergunning aanvragen"),
        "area_b": await store.post("area-b", "bob", "Actie: geheim plan B"),
        "done_q": await store.post("theme-one", "amy", "Is er al subsidie?"),
        "decided": await store.post("theme-one", "mo", "Besluit: we starten in maart."),
        "other": await store.post("theme-two", "amy", "Vraag over een ander thema"),
    }
    answer = await store.post("theme-one", "mo", "Ja, sinds vorige week.", reply_to=ids["done_q"])
    await mark(api, "bob", "theme-one", ids["theme_q"], kind="vraag")
    await mark(api, "ann", "area-a", ids["area_a"], kind="actiepunt", owner="amy")
    await mark(api, "bob", "area-b", ids["area_b"], kind="actiepunt")
    await mark(api, "amy", "theme-one", ids["done_q"], kind="vraag")
    await mark(api, "mo", "theme-one", ids["decided"], kind="besluit")
    await mark(api, "amy", "theme-two", ids["other"], kind="vraag")
    r = await api.post(
        "amy", f"/api/rooms/theme-one/messages/{ids['done_q']}/answered", {"reply_id": answer}
    )
    assert r.status_code == 200, r.text
    return ids


def ids_of(items: list[dict[str, Any]]) -> list[int]:
    return [i["message_id"] for i in items]


async def test_agenda_lists_open_items_of_the_meeting(api: Api, store: Store) -> None:
    """Open questions and action items for meeting-one, decisions too; answered ones drop off."""
    ids = await agenda_scene(api, store)
    r = await api.get("ann", "/api/meetings/meeting-one/agenda")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["meeting"]["slug"] == "meeting-one" and body["meeting"]["theme_room"] == "theme-one"
    assert ids_of(body["open_questions"]) == [ids["theme_q"]]
    assert ids_of(body["action_items"]) == [ids["area_a"]]
    assert (
        body["action_items"][0]["owner"] == "amy"
        and body["action_items"][0]["due"] == MEETING_ONE.isoformat()
    )
    assert ids_of(body["decisions"]) == [ids["decided"]]
    assert body["may_export"] is False
    assert (await api.get("rita", "/api/meetings/meeting-one/agenda")).json()["may_export"] is True
    later = (await api.get("ann", "/api/meetings/meeting-two/agenda")).json()
    assert ids_of(later["open_questions"]) == [ids["other"]]
    assert later["open_questions"][0]["due"] == MEETING_TWO.isoformat()


async def test_agenda_shows_only_readable_rooms(api: Api, store: Store) -> None:
    """Bob sees area-b's action item and not area-a's; ann the other way round."""
    ids = await agenda_scene(api, store)
    bob = (await api.get("bob", "/api/meetings/meeting-one/agenda")).json()
    assert ids_of(bob["action_items"]) == [ids["area_b"]]
    ann = (await api.get("ann", "/api/meetings/meeting-one/agenda")).json()
    assert "geheim" not in str(ann)
    md = (await api.get("mo", "/api/meetings/meeting-one/agenda?format=md")).text
    assert "vergunning" in md and "geheim plan B" in md


async def test_markdown_export_for_moderators(api: Api, store: Store) -> None:
    """A room moderator gets Markdown; a member gets 403; the title names the date in Dutch."""
    await agenda_scene(api, store)
    r = await api.get("rita", "/api/meetings/meeting-one/agenda?format=md")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/markdown")
    text = r.text
    title = f"# Open vragen en actiepunten voor de bijeenkomst van {dutch_date(MEETING_ONE)}"
    assert text.startswith(title)
    assert "## Open vragen" in text and "Wie betaalt de dijkverzwaring?" in text
    assert "eigenaar: @amy" in text and "geheim" not in text
    r = await api.get("ann", "/api/meetings/meeting-one/agenda?format=md")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


@SQLITE_ONLY
async def test_meeting_detail_and_errors(api: Api, store: Store) -> None:
    """A meeting links its room and theme room; unknown meetings 404; no session 401."""
    r = await api.get("bob", "/api/meetings/meeting-one")
    assert r.status_code == 200
    assert r.json()["meeting"]["room"] == "meeting-one"
    assert r.json()["meeting"]["date"].startswith(MEETING_ONE.isoformat())
    assert (await api.get("bob", "/api/meetings/nope")).status_code == 404
    assert (await api.get("bob", "/api/meetings/nope/agenda")).status_code == 404
    assert (await api.get(None, "/api/meetings/meeting-one/agenda")).status_code == 401
    assert (await api.get("bob", "/api/meetings/meeting-one/agenda?format=pdf")).status_code == 400


def cell(body: dict[str, Any], area: str, theme: str) -> dict[str, Any]:
    row = next(a for a in body["areas"] if a["slug"] == area)
    found: dict[str, Any] = next(c for c in row["cells"] if c["theme"] == theme)
    return found


async def test_overview_cells(api: Api, store: Store) -> None:
    """Tagged area messages and theme messages by area members fill the cells."""
    tagged = await store.post("area-a", "amy", "Dit gaat ook over thema twee")
    r = await api.post(
        "amy", f"/api/rooms/area-a/messages/{tagged}/tags", {"themes": ["theme-two"]}
    )
    assert r.status_code == 200
    await store.post("theme-one", "ann", "Vanuit gebied A")
    await store.post("theme-one", "bob", "Vanuit gebied B")
    hidden_b = await store.post("area-b", "bob", "Geheim, over thema een")
    r = await api.post(
        "bob", f"/api/rooms/area-b/messages/{hidden_b}/tags", {"themes": ["theme-one"]}
    )
    assert r.status_code == 200
    ann = (await api.get("ann", "/api/overview")).json()
    assert [t["slug"] for t in ann["themes"]] == ["theme-one", "theme-two"]
    assert cell(ann, "area-a", "theme-two") == {
        "theme": "theme-two",
        "messages": 1,
        "recent": 1,
        "unread": 1,
    }
    assert cell(ann, "area-a", "theme-one")["messages"] == 1
    assert cell(ann, "area-a", "theme-one")["unread"] == 0
    assert cell(ann, "area-b", "theme-one")["messages"] == 1
    assert next(a for a in ann["areas"] if a["slug"] == "area-b")["readable"] is False
    bob = (await api.get("bob", "/api/overview")).json()
    assert cell(bob, "area-b", "theme-one")["messages"] == 2
    assert cell(bob, "area-a", "theme-two")["messages"] == 0


async def test_overview_layers_per_question(api: Api, store: Store) -> None:
    """Which layers answered and read a question; "nog geen reactie van een waterschap"."""
    q = await store.post("theme-one", "ann", "Hoe regelen we het beheer?")
    await store.post("theme-one", "bob", "Provincie: wij willen meedoen.", reply_to=q)
    await store.post("theme-one", "mo", "Het Rijk ook.", reply_to=q)
    await store.post("theme-one", "ann", "Fijn!", reply_to=q)
    await mark(api, "ann", "theme-one", q, kind="vraag")
    secret = await store.post("area-b", "bob", "Geheime vraag")
    await mark(api, "bob", "area-b", secret, kind="vraag")
    r = await api.post("amy", "/api/catchup/read", {"rooms": {"theme-one": 2}})
    assert r.status_code == 200
    body = (await api.get("ann", "/api/overview")).json()
    assert ids_of(body["questions"]) == [q]
    question = body["questions"][0]
    assert question["answered_layers"] == ["provincie", "rijk"]
    assert question["missing_layers"] == ["gemeente", "waterschap"]
    assert question["notice"] == "nog geen reactie van een gemeente of een waterschap"
    assert "waterschap" in question["read_layers"]
    assert ids_of((await api.get("bob", "/api/overview")).json()["questions"]) == [secret, q]


@SQLITE_ONLY
async def test_overview_needs_a_session(api: Api) -> None:
    """No session: 401."""
    r = await api.get(None, "/api/overview")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"

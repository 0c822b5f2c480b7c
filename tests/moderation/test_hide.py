"""Hiding a message: a room event, the text kept, never served again, and audited."""

from __future__ import annotations

from persistence.db import Database
from persistence.models import Message
from tests.clients import Api
from tests.moderation.conftest import post


async def test_moderator_hides_a_message(api: Api, database: Database) -> None:
    """A room moderator hides a message: 200, a message_hidden event, and the body is gone."""
    mid = await post(database, "area-a", "ann", "iets ongepasts")
    r = await api.call("rita", "POST", f"/api/rooms/area-a/messages/{mid}/hide", {"reason": "toon"})
    assert r.status_code == 200, r.text
    seq = r.json()["seq"]
    page = (await api.call("amy", "GET", "/api/rooms/area-a/events?after=0")).json()
    by_seq = {e["seq"]: e for e in page["events"]}
    assert by_seq[seq] == {
        "type": "message_hidden",
        "room": "area-a",
        "seq": seq,
        "message_id": mid,
        "by": "rita",
        "reason": "toon",
    }
    original = next(e for e in page["events"] if e["type"] == "message")
    assert original["hidden"] is True and original["body"] is None
    assert "iets ongepasts" not in r.text + str(page)
    async with database.read() as session:
        stored = await session.get(Message, mid)
        assert stored is not None and stored.body == "iets ongepasts" and stored.hidden


async def test_hidden_text_is_not_found_by_search(api: Api, database: Database) -> None:
    """Once hidden, a message's words no longer find it in search."""
    mid = await post(database, "theme-one", "bob", "zoutwaterindringing bij Goes")
    before = (await api.call("ann", "GET", "/api/search?q=zoutwaterindringing")).json()["hits"]
    assert [h["message_id"] for h in before] == [mid]
    r = await api.call("mo", "POST", f"/api/rooms/theme-one/messages/{mid}/hide", {"reason": "x"})
    assert r.status_code == 200
    after = await api.call("ann", "GET", "/api/search?q=zoutwaterindringing")
    assert after.status_code == 200 and after.json()["hits"] == []

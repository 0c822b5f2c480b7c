"""Hiding a message: a room event, the text kept, never served again, and audited."""

from __future__ import annotations

from persistence.db import Database
from persistence.models import Message
from tests.moderation.conftest import Api, post


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

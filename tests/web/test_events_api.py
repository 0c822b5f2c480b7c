"""GET /api/rooms/{slug}/events: paging forwards and backwards, and messages as they are now."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from persistence import events
from persistence.db import Database
from persistence.models import Room, User
from tests.helpers import bearer, login
from tests.persistence.posting import post_all


async def post_many(db: Database, slug: str, username: str, n: int) -> list[int]:
    posts = [(slug, username, f"bericht {i}", f"k{i}") for i in range(n)]
    return [stored.message_id for stored in await post_all(db, posts)]


async def test_after_and_limit_page_forwards(
    server: str, client: httpx.AsyncClient, database: Database
) -> None:
    """after=N&limit=M gives seq N+1..N+M ascending with has_more while more exist."""
    await post_many(database, "theme-one", "ann", 7)
    token = await login(client, server, "amy")
    r = await client.get(
        f"{server}/api/rooms/theme-one/events?after=2&limit=3", headers=bearer(token)
    )
    body = r.json()
    assert [e["seq"] for e in body["events"]] == [3, 4, 5]
    assert body["has_more"] is True and body["last_seq"] == 7
    r = await client.get(f"{server}/api/rooms/theme-one/events?after=5", headers=bearer(token))
    body = r.json()
    assert [e["seq"] for e in body["events"]] == [6, 7]
    assert body["has_more"] is False


async def test_before_pages_backwards_returned_ascending(
    server: str, client: httpx.AsyncClient, database: Database
) -> None:
    """before=N gives the newest events below N, in ascending order."""
    await post_many(database, "theme-one", "ann", 7)
    token = await login(client, server, "amy")
    r = await client.get(
        f"{server}/api/rooms/theme-one/events?before=6&limit=3", headers=bearer(token)
    )
    body = r.json()
    assert [e["seq"] for e in body["events"]] == [3, 4, 5]
    assert body["has_more"] is True
    r = await client.get(
        f"{server}/api/rooms/theme-one/events?before=3&limit=3", headers=bearer(token)
    )
    assert [e["seq"] for e in r.json()["events"]] == [1, 2]
    assert r.json()["has_more"] is False


async def test_message_event_shape(
    server: str, client: httpx.AsyncClient, database: Database
) -> None:
    """A message event carries the contract's fields, the author as username/display/org/layer."""
    [message_id] = await post_many(database, "area-a", "ann", 1)
    token = await login(client, server, "amy")
    r = await client.get(f"{server}/api/rooms/area-a/events", headers=bearer(token))
    [event] = r.json()["events"]
    assert event == {
        "type": "message",
        "room": "area-a",
        "seq": 1,
        "message_id": message_id,
        "author": {
            "username": "ann",
            "display_name": "Ann Aalders",
            "organisation": "Gemeente A",
            "layer": "gemeente",
        },
        "body": "bericht 0",
        "created_at": event["created_at"],
        "client_id": "k0",
        "reply_to": None,
        "topic": None,
        "reactions": {},
    }
    assert event["created_at"].endswith("Z")


async def test_replay_shows_edits_and_hides_text(
    server: str, client: httpx.AsyncClient, database: Database
) -> None:
    """Replayed later, a message shows its current body; hidden ones have body null, hidden true."""
    first, second = await post_many(database, "theme-two", "ann", 2)
    async with database.write() as s:
        m1 = await events.get_message(
            s,
            (await s.execute(select(Room.id).where(Room.slug == "theme-two"))).scalar_one(),
            first,
        )
        assert m1 is not None
        await events.edit_message(s, m1, "bewerkt", m1.author_id)
        author = await s.get(User, m1.author_id)
        assert author is not None
        m2 = await events.get_message(s, m1.room_id, second)
        assert m2 is not None
        await events.hide_message(s, m2, author, "ingetrokken")
    token = await login(client, server, "bob")
    r = await client.get(f"{server}/api/rooms/theme-two/events", headers=bearer(token))
    evs = r.json()["events"]
    assert [e["type"] for e in evs] == ["message", "message", "message_edited", "message_hidden"]
    assert evs[0]["body"] == "bewerkt" and "edited_at" in evs[0]
    assert evs[1]["body"] is None and evs[1]["hidden"] is True
    assert evs[2]["body"] == "bewerkt" and evs[2]["message_id"] == first
    assert evs[3]["message_id"] == second and evs[3]["by"] == "ann"
    assert "bericht 1" not in r.text

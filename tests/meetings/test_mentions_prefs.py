"""@mentions (unread counts per room, whom a message notifies) and member preferences."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select

from chat import frames
from chat.reads import hello_rooms
from persistence import accounts
from persistence.db import Database
from persistence.handshake import RoomListing
from persistence.markfilters import marked_message_ids, tagged_message_ids
from persistence.mentions import mentioned, mentioned_after_commit
from persistence.models import Message, User
from persistence.rooms import room_by_slug
from rooms.marks import MarkKind
from tests.clients import Api
from tests.helpers import SQLITE_ONLY
from tests.meetings.conftest import Store


async def room_list(database: Database, username: str) -> dict[str, RoomListing]:
    """`username`'s room list as `hello` and `GET /api/rooms` show it, by slug."""
    async with database.read() as s:
        user = (await s.execute(select(User).where(User.username == username))).scalar_one()
        actor = await accounts.actor_for(s, user)
    return {r.slug: r for r in await hello_rooms(database, actor, user.layer)}


async def counts_for(database: Database, username: str) -> dict[str, int]:
    """Room slug → unread mentions, for the rooms that have some."""
    rooms = await room_list(database, username)
    return {slug: r.unread_mentions for slug, r in rooms.items() if r.unread_mentions}


async def test_unread_mentions_per_room(api: Api, store: Store, database: Database) -> None:
    """Mentions by others after the read marker count; own, read, hidden-room ones do not."""
    await store.post("theme-one", "bob", "Wat vind jij, @ann?")
    await store.post("theme-one", "amy", "@Ann, @ann: twee keer telt één keer.")
    await store.post("theme-one", "ann", "Ik ben @ann zelf")
    await store.post("theme-one", "amy", "mail naar ann@example.nl")
    await store.post("area-a", "amy", "(@ann) kijk even")
    await store.post("area-b", "bob", "@ann mag dit niet zien")
    await store.post("theme-two", "bob", "@anna is iemand anders")
    assert await counts_for(database, "ann") == {"theme-one": 2, "area-a": 1}
    r = await api.post("ann", "/api/catchup/read", {"rooms": {"theme-one": 1}})
    assert r.status_code == 200
    assert await counts_for(database, "ann") == {"theme-one": 1, "area-a": 1}


async def test_mention_notifies_only_readers(store: Store, database: Database) -> None:
    """A mention frame goes to mentioned users who may read the room, never the author."""
    mid = await store.post("area-a", "amy", "@ann en @bob en @amy en @niemand: overleg?")
    async with database.read() as s:
        room = await room_by_slug(s, "area-a")
        message = await s.get(Message, mid)
        assert room is not None and message is not None
        found = await mentioned(s, room, message)
        ann = (await s.execute(select(User).where(User.username == "ann"))).scalar_one()
    assert [m.user_id for m in found] == [ann.id]
    frame = msgspec.to_builtins(frames.mention(found[0]))
    assert frame["type"] == "mention" and frame["room"] == "area-a"
    assert frame["message_id"] == mid and frame["author"]["username"] == "amy"
    assert "seq" not in frame and frame["message_seq"] == 1


@SQLITE_ONLY
async def test_digest_preference(api: Api) -> None:
    """The digest is off without an address, on once one is given; a member turns it off."""
    r = await api.get("ann", "/api/me/preferences")
    assert r.status_code == 200
    assert r.json()["preferences"] == {"digest": False, "email": None}
    r = await api.call("ann", "PATCH", "/api/me", {"digest": True})
    assert r.status_code == 400 and "e-mail" in r.text
    r = await api.call("amy", "PATCH", "/api/me", {"email": "amy@example.nl"})
    assert r.json()["preferences"] == {"digest": True, "email": "amy@example.nl"}
    r = await api.call("ann", "PATCH", "/api/me", {"digest": False, "email": "ann@example.nl"})
    assert r.status_code == 200, r.text
    assert r.json()["preferences"] == {"digest": False, "email": "ann@example.nl"}
    assert r.json()["user"]["username"] == "ann"
    r = await api.get("ann", "/api/me/preferences")
    assert r.json()["preferences"]["digest"] is False
    assert (await api.get("amy", "/api/me/preferences")).json()["preferences"]["digest"] is True
    r = await api.call("amy", "PATCH", "/api/me", {"email": None})
    assert r.json()["preferences"] == {"digest": False, "email": None}
    assert (await api.get("ann", "/api/me")).json()["user"]["username"] == "ann"


@SQLITE_ONLY
async def test_preference_input_is_validated(api: Api) -> None:
    """Unknown fields, wrong types and malformed addresses are 400; no session is 401."""
    for body in (
        {},
        {"digest": "nee"},
        {"email": "geen-adres"},
        {"theme": "x"},
        {"email": 5},
        {"email": "a@b.nl\n"},
    ):
        r = await api.call("ann", "PATCH", "/api/me", body)
        assert r.status_code == 400, body
    assert (await api.call(None, "PATCH", "/api/me", {"digest": False})).status_code == 401
    assert (await api.get(None, "/api/me/preferences")).status_code == 401


async def test_search_filter_helpers(api: Api, store: Store, database: Database) -> None:
    """The subqueries search can filter on: messages by mark (open or all) and by theme tag."""
    q = await store.post("theme-one", "ann", "Vraag?")
    a = await store.post("theme-one", "bob", "Antwoord.", reply_to=q)
    d = await store.post("area-a", "amy", "Besluit.")
    for mid, room, kind in ((q, "theme-one", "vraag"), (d, "area-a", "besluit")):
        r = await api.post("ann", f"/api/rooms/{room}/messages/{mid}/mark", {"kind": kind})
        assert r.status_code == 200
    r = await api.post("ann", f"/api/rooms/area-a/messages/{d}/tags", {"themes": ["theme-two"]})
    assert r.status_code == 200
    async with database.read() as s:

        async def ids(sub: Any) -> set[int]:
            return set((await s.execute(select(Message.id).where(Message.id.in_(sub)))).scalars())

        assert await ids(marked_message_ids(MarkKind.VRAAG)) == {q}
        assert await ids(marked_message_ids(MarkKind.VRAAG, open_only=True)) == {q}
        assert await ids(marked_message_ids(MarkKind.BESLUIT)) == {d}
        assert await ids(tagged_message_ids("theme-two")) == {d}
    r = await api.post("ann", f"/api/rooms/theme-one/messages/{q}/answered", {"reply_id": a})
    assert r.status_code == 200
    async with database.read() as s:
        found = await s.execute(
            select(Message.id).where(Message.id.in_(marked_message_ids(MarkKind.VRAAG, True)))
        )
        assert list(found.scalars()) == []


@SQLITE_ONLY
async def test_mention_deliveries_reach_only_readers(store: Store, database: Database) -> None:
    """Each mentioned reader gets one `mention` frame; a mention in an area room skips outsiders."""
    mid = await store.post("theme-one", "bob", "@ann en @amy, kijken jullie mee?")
    found = await mentioned_after_commit(database, "theme-one", mid)
    assert sorted(m.room for m in found) == ["theme-one", "theme-one"]
    mid = await store.post("area-a", "amy", "@bob en @ann?")
    assert [m.room for m in await mentioned_after_commit(database, "area-a", mid)] == ["area-a"]


async def test_the_room_list_has_mentions_and_meetings(store: Store, database: Database) -> None:
    """Per readable room: unread mentions and the next meeting it prepares for."""
    await store.post("theme-one", "bob", "@ann?")
    rooms = await room_list(database, "ann")
    assert "area-b" not in rooms
    assert rooms["theme-one"].unread_mentions == 1
    for slug in ("theme-one", "theme-two", "meeting-one"):
        upcoming = rooms[slug].next_meeting
        assert upcoming is not None and upcoming.slug == "meeting-one"
    assert rooms["area-a"].unread_mentions == 0

"""Direct conversations: one room per set of people, readable by its members only."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from chat.client import Client, ClientError
from persistence import archive, handshake
from persistence.accounts import actor_for
from persistence.db import Database
from persistence.models import Membership, Message, Room, User, utcnow
from persistence.moderation import Source
from persistence.prepared import Prepared
from rooms.conversations import direct_slug
from tests.clients import Api, OpenClient
from web.actions import archives


async def test_the_same_set_gives_the_same_room(server: str, api: Api) -> None:
    """Any member asking, in any order, gets the same room; its kind is `direct`."""
    r = await api.post("ann", "/api/direct", {"usernames": ["bob"]})
    assert r.status_code == 200, r.text
    room = r.json()["room"]
    assert room["kind"] == "direct" and room["members"] == ["ann", "bob"]
    again = await api.post("bob", "/api/direct", {"usernames": ["ann", "bob"]})
    assert again.json()["room"]["slug"] == room["slug"]
    group = await api.post("ann", "/api/direct", {"usernames": ["bob", "amy"]})
    assert group.json()["room"]["slug"] != room["slug"]
    assert group.json()["room"]["members"] == ["amy", "ann", "bob"]


async def test_bad_requests(server: str, api: Api) -> None:
    """Oneself alone, ten or eleven others (12 people), or an unknown user is refused."""
    r = await api.post("ann", "/api/direct", {"usernames": ["ann"]})
    assert r.status_code == 400
    for count in (10, 11):  # with the caller: 11 or 12 people
        many = [f"user{i}" for i in range(count)]
        r = await api.post("ann", "/api/direct", {"usernames": many})
        assert r.status_code == 400, count
    r = await api.post("ann", "/api/direct", {"usernames": ["nobody"]})
    assert r.status_code == 404
    r = await api.post(None, "/api/direct", {"usernames": ["bob"]})
    assert r.status_code == 401


async def test_only_members_see_it_anywhere(server: str, api: Api, open_client: OpenClient) -> None:
    """Rooms list, hello, events, topics, search, subscribe, typing: members only (not staff)."""
    slug = (await api.post("ann", "/api/direct", {"usernames": ["bob"]})).json()["room"]["slug"]
    ann: Client = await open_client(server, "ann")  # connected after: in its hello
    assert slug in {r["slug"] for r in (ann.hello or {})["rooms"]}
    bob: Client = await open_client(server, "bob")
    await bob.subscribe(slug, since=None)
    await ann.subscribe(slug, since=None)
    await ann.send(slug, "Zullen we @bob bellen over de sluis?", topic="Sluis")
    assert (await bob.wait_for(lambda f: f.get("type") == "message"))["body"].startswith("Zullen")
    await bob.wait_for(lambda f: f.get("type") == "mention")
    listed = (await api.get("bob", "/api/rooms")).json()["rooms"]
    assert [r["unread"] for r in listed if r["slug"] == slug] == [1]
    for outsider in ("amy", "mo", "ada"):
        rooms = (await api.get(outsider, "/api/rooms")).json()["rooms"]
        assert slug not in {r["slug"] for r in rooms}, outsider
        for path in (f"/api/rooms/{slug}/events?after=0", f"/api/rooms/{slug}/topics"):
            assert (await api.get(outsider, path)).status_code == 403, (outsider, path)
        hits = (await api.get(outsider, "/api/search?q=sluis")).json()["hits"]
        assert hits == [], outsider
        r = await api.get(outsider, f"/api/search?q=sluis&room={slug}")
        assert r.status_code == 403
        ws: Client = await open_client(server, outsider)
        assert slug not in {r["slug"] for r in (ws.hello or {})["rooms"]}
        for frame in (
            {"type": "subscribe", "room": slug, "since": 0},
            {"type": "typing", "room": slug},
            {"type": "send", "room": slug, "body": "hoi", "client_id": "x"},
        ):
            try:
                await ws.request(frame)
            except ClientError as exc:
                assert exc.code == "forbidden", (outsider, frame)
            else:
                raise AssertionError(f"{outsider} was let in: {frame}")
    assert [h["room"] for h in (await api.get("bob", "/api/search?q=sluis")).json()["hits"]] == [
        slug
    ]


async def test_a_new_conversation_works_on_an_open_connection(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """A connection opened before the room was made hears of it, may subscribe and send."""
    ann: Client = await open_client(server, "ann")
    amy: Client = await open_client(server, "amy")
    slug = (await api.post("ann", "/api/direct", {"usernames": ["amy"]})).json()["room"]["slug"]
    added = await amy.wait_for(lambda f: f.get("type") == "room_added")
    assert added == {"type": "room_added", "room": slug, "kind": "direct"}
    await amy.subscribe(slug, since=0)
    await ann.subscribe(slug, since=0)
    ack = await ann.send(slug, "hallo")
    assert ack["seq"] == 1


async def test_a_room_list_reads_only_ones_own_direct_conversations(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set-up reads as many statements and rows for ann whatever number of direct
    conversations others have; one of her own adds one row (on PostgreSQL two: the room
    once for the batch, then her row in it); the shared rooms come through
    their partial index."""
    async with database.write() as session:
        users = {u.username: u for u in (await session.execute(select(User))).scalars()}
    ann, others = users["ann"], [users[n] for n in ("amy", "bob", "rita", "mo", "ada")]

    async def read() -> tuple[list[str], int, int]:
        async with database.read() as session:
            actor = await actor_for(session, ann)
        calls: list[int] = []
        real = Prepared._rows

        def counted(self: Prepared, conn: Any, params: Any) -> list[Any]:
            found = real(self, conn, params)
            calls.append(len(found))
            return found

        with monkeypatch.context() as patched:
            patched.setattr(Prepared, "_rows", counted)
            meetings = handshake.MeetingsRead()
            listed = await handshake.run(
                database, handshake.read_room_list, actor, utcnow(), meetings, ann.layer
            )
        return [r.slug for r in listed], len(calls), sum(calls)

    before = await read()
    async with database.write() as session:
        for i, a in enumerate(others):
            for b in others[i + 1 :]:
                await _direct_room(session, [a.id, b.id])
                await _direct_room(session, [a.id, b.id, users["bob"].id])
    assert await read() == before
    async with database.write() as session:
        own = await _direct_room(session, [ann.id, users["amy"].id])
    slugs, statements, rows = await read()
    assert sorted(slugs) == sorted([*before[0], own])
    assert (statements, rows) == (before[1], before[2] + (1 if database.is_sqlite else 2))
    await _uses_the_indexes(database, ann.id)


async def _direct_room(session: AsyncSession, ids: list[int]) -> str:
    slug = direct_slug(ids)
    if (await session.execute(select(Room).where(Room.slug == slug))).first() is not None:
        return slug
    room = Room(slug=slug, name=slug, kind="direct", topic="", created_at=utcnow())
    session.add(room)
    await session.flush()
    session.add_all(Membership(room_id=room.id, user_id=i, joined_at=utcnow()) for i in set(ids))
    await session.flush()
    return slug


async def _uses_the_indexes(database: Database, user_id: int) -> None:
    """The shared rooms by `ix_rooms_shared`, one's own direct ones by membership."""
    async with database.read() as session:
        conn = await session.connection()
        if database.is_sqlite:
            sql = str(handshake._ROOM_FACTS_SQLITE.statement.compile(dialect=conn.dialect))
            plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (f"[{user_id}]",))
            steps = " | ".join(str(r[-1]) for r in plan)
            assert "USING INDEX ix_rooms_shared" in steps, steps
            assert "ix_memberships_user_id" in steps, steps
            return
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        statement = handshake._ROOMS_UNREAD_PG.statement
        params = {
            "user_ids": [user_id], "patterns": ["%@ann%"], "layer_patterns": ["%@gemeente%"],
            "area_pattern": "%@gebied%", "every_area": [False], "areas": ["{1}"],
        }  # fmt: skip
        plan = await conn.execute(text("EXPLAIN " + statement.element.text), params)
        steps = " | ".join(r[0] for r in plan)
        assert "ix_rooms_shared" in steps, steps
        assert "ix_memberships_user_id" in steps, steps


async def test_moderation_exports_and_retention_cover_it(
    server: str, api: Api, database: Database, open_client: OpenClient
) -> None:
    """A member reports a message of a direct conversation; a global moderator sees it in
    the queue and hides it without reading the room; the archive export and the
    retention purge cover the conversation as any room."""
    slug = (await api.post("ann", "/api/direct", {"usernames": ["bob"]})).json()["room"]["slug"]
    ann: Client = await open_client(server, "ann")
    await ann.subscribe(slug, since=None)
    mid = (await ann.send(slug, "Iets wat hier niet hoort"))["message_id"]
    path = f"/api/rooms/{slug}/messages/{mid}"
    r = await api.post("bob", path + "/report", {"reason": "ongepast"})
    assert r.status_code == 201, r.text
    queue = (await api.get("mo", "/api/reports")).json()["reports"]
    assert [q["message_id"] for q in queue if q["room"] == slug] == [mid]
    assert (await api.get("mo", f"/api/rooms/{slug}/events?after=0")).status_code == 403
    r = await api.post("mo", path + "/hide", {"reason": "ongepast"})
    assert r.status_code == 200, r.text
    source = Source("cli:tester", "cli@test")
    out = io.StringIO()
    await archives.write_room_export(database, slug, out, source, fmt="json", include_hidden=True)
    assert json.loads(out.getvalue())["events"][0]["body"] == "Iets wat hier niet hoort"
    async with database.write() as session:
        message = await session.get(Message, mid)
        assert message is not None
        message.created_at = utcnow() - timedelta(days=400)
    assert await archive.purge(database, 365, source) >= 1
    async with database.read() as session:
        message = await session.get(Message, mid)
        assert message is not None and message.body == "" and message.purged_at is not None

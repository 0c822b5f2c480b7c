"""Reactions: a room event with the message's whole set, live and replayed, refused when bad."""

from __future__ import annotations

import io
import json
from typing import Any

from chat import store
from chat.client import Client, ClientError
from chat.frames import event_dict
from persistence import handshake
from persistence.accounts import actor_for, user_by_name
from persistence.backlog import read_events
from persistence.db import Database
from persistence.events import events_page, hide_message
from persistence.models import Message
from persistence.moderation import Source
from persistence.rooms import room_by_slug
from rooms.model import Actor
from tests.clients import Api, OpenClient
from tests.persistence.posting import post_all
from web.actions import archives


def reactions_of(frame: dict[str, Any], mid: int) -> bool:
    return frame.get("type") == "reactions" and frame.get("message_id") == mid


async def test_reaction_is_a_room_event_with_the_whole_set(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """Two reactions and a removal: each a `reactions` event with the set after it, in seq."""
    ann: Client = await open_client(server, "ann")
    amy: Client = await open_client(server, "amy")
    for ws in (ann, amy):
        await ws.subscribe("theme-one", since=None)
    mid = (await ann.send("theme-one", "Wie komt er dinsdag?"))["message_id"]
    await amy.react("theme-one", mid, "👍")
    first = await ann.wait_for(lambda f: reactions_of(f, mid))
    assert first["reactions"] == {"👍": ["amy"]} and first["by"] == "amy"
    await ann.react("theme-one", mid, "👍")
    second = await amy.wait_for(lambda f: reactions_of(f, mid) and f["seq"] > first["seq"])
    assert second["reactions"] == {"👍": ["amy", "ann"]}
    assert second["seq"] == first["seq"] + 1
    await amy.react("theme-one", mid, "👍", on=False)
    third = await ann.wait_for(lambda f: reactions_of(f, mid) and f["seq"] > second["seq"])
    assert third["reactions"] == {"👍": ["ann"]}

    events = await api.events("bob", "theme-one")
    message = next(e for e in events if e["type"] == "message")
    # Replayed, the message and every `reactions` event show the set as it is now.
    assert message["reactions"] == {"👍": ["ann"]} and message["topic"] is None
    assert [e["reactions"] for e in events if e["type"] == "reactions"] == [{"👍": ["ann"]}] * 3
    late: Client = await open_client(server, "bob")
    await late.subscribe("theme-one", since=0)
    replayed = await late.wait_for(lambda f: f.get("type") == "message")
    assert replayed["reactions"] == {"👍": ["ann"]}


async def test_no_change_makes_no_event(server: str, api: Api, open_client: OpenClient) -> None:
    """Adding a reaction twice, or removing one never given, takes no seq."""
    ann: Client = await open_client(server, "ann")
    await ann.subscribe("theme-one", since=None)
    mid = (await ann.send("theme-one", "Eens?"))["message_id"]
    await ann.react("theme-one", mid, "🎉")
    done = await ann.wait_for(lambda f: reactions_of(f, mid))
    await ann.react("theme-one", mid, "🎉")
    await ann.react("theme-one", mid, "👀", on=False)
    await ann.ping()
    after = await ann.send("theme-one", "volgende")
    assert after["seq"] == done["seq"] + 1


async def test_bad_reactions_are_refused(server: str, open_client: OpenClient) -> None:
    """Text, two emoji or 100 bytes is a bad frame; a room one may not read is forbidden."""
    ann: Client = await open_client(server, "ann")
    bob: Client = await open_client(server, "bob")
    await ann.subscribe("area-a", since=None)
    mid = (await ann.send("area-a", "alleen voor gebied A"))["message_id"]
    for emoji in ("eens", "👍👍", "😄" * 25, "+1", " 👍"):
        frame = {"type": "react", "room": "area-a", "message_id": mid, "emoji": emoji, "on": True}
        refused = await _refusal(ann, frame)
        assert refused["code"] == "bad_frame", emoji
    frame = {"type": "react", "room": "area-a", "message_id": mid, "emoji": "👍", "on": True}
    assert (await _refusal(bob, frame))["code"] == "forbidden"
    frame = {**frame, "message_id": mid + 1000}
    assert (await _refusal(ann, frame))["code"] == "not_found"


async def _refusal(ws: Client, frame: dict[str, Any]) -> dict[str, Any]:
    try:
        reply = await ws.request(frame)
    except ClientError as exc:
        return exc.frame
    raise AssertionError(f"not refused: {reply}")


async def test_exports_include_reactions(database: Database) -> None:
    """A room export shows each message's reactions now and every `reactions` event."""
    mid = (await post_all(database, [("theme-one", "ann", "Zullen we?", "x1")]))[0].message_id
    ann = await actor_of(database, "ann")
    amy = await actor_of(database, "amy")
    await store.react(database, amy, "theme-one", mid, "✅", True)
    await store.react(database, ann, "theme-one", mid, "✅", True)
    out = io.StringIO()
    await archives.write_room_export(
        database, "theme-one", out, Source("cli:tester", "cli@test"),
        fmt="json", include_hidden=False,
    )  # fmt: skip
    exported = json.loads(out.getvalue())["events"]
    assert exported[0]["reactions"] == {"✅": ["amy", "ann"]}
    assert [e["reactions"] for e in exported[1:]] == [{"✅": ["amy"]}, {"✅": ["amy", "ann"]}]
    out = io.StringIO()
    await archives.write_room_export(
        database, "theme-one", out, Source("cli:tester", "cli@test"),
        fmt="md", include_hidden=False,
    )  # fmt: skip
    assert "Reacties: ✅ amy, ann" in out.getvalue()
    mine = await archives.user_export(database, "amy", Source("cli:tester", "cli@test"))
    assert [(r["message_id"], r["emoji"]) for r in mine["reactions"]] == [(mid, "✅")]


async def actor_of(database: Database, username: str) -> Actor:
    async with database.read() as session:
        user = await user_by_name(session, username)
        assert user is not None
        return await actor_for(session, user)


async def test_a_hidden_messages_reactions_are_not_replayed(database: Database) -> None:
    """Once a message is hidden, its reactions and who gave them are gone from the backlog,
    the events API and an export without hidden text; the archive export keeps them."""
    mid = (await post_all(database, [("theme-one", "ann", "Iets ongepasts", "h1")]))[0].message_id
    for name, emoji in (("amy", "👍"), ("bob", "😄")):
        await store.react(database, await actor_of(database, name), "theme-one", mid, emoji, True)
    async with database.write() as session:
        room = await room_by_slug(session, "theme-one")
        message = await session.get(Message, mid)
        mo = await user_by_name(session, "mo")
        assert room is not None and message is not None and mo is not None
        await hide_message(session, message, mo, "ongepast")
        room_id, upto = room.id, room.last_seq + 1
    # The backlog (subscribe with `since`, a reconnect's catch-up) and the events API.
    backlog = await handshake.run(database, read_events, room_id, 0, upto)
    async with database.read() as session:
        page, _ = await events_page(session, room_id, after=0)
    for replay in (backlog, page):
        frames = [event_dict("theme-one", ev) for ev in replay]
        assert [f["type"] for f in frames] == [
            "message",
            "reactions",
            "reactions",
            "message_hidden",
        ]
        assert all(f["reactions"] == {} for f in frames[:3])
        assert not [f for f in frames if "by" in f and f["type"] == "reactions"]
        assert "amy" not in json.dumps(frames) and "bob" not in json.dumps(frames)
    source = Source("cli:tester", "cli@test")
    for hidden_too in (False, True):
        out = io.StringIO()
        await archives.write_room_export(
            database, "theme-one", out, source, fmt="json",
            include_hidden=hidden_too,
        )  # fmt: skip
        exported = json.loads(out.getvalue())["events"]
        if hidden_too:
            assert exported[0]["reactions"] == {"👍": ["amy"], "😄": ["bob"]}
            assert exported[2] == {
                **exported[2],
                "by": "bob",
                "reactions": exported[0]["reactions"],
            }
        else:
            assert [e.get("reactions") for e in exported[:3]] == [{}, {}, {}]
            assert "amy" not in out.getvalue() and "bob" not in out.getvalue()
    out = io.StringIO()
    await archives.write_room_export(
        database, "theme-one", out, source, fmt="md", include_hidden=False
    )
    assert "Reacties" not in out.getvalue() and "amy" not in out.getvalue()

"""`activity` frames: live unread and mention seqs of rooms a connection is not subscribed
to, under the read rule; and the subscriber's own posting state (`subscribed`, `muted`)."""

from __future__ import annotations

import pytest

from chat.client import Client, Frame
from tests.clients import Api, OpenClient
from tests.realtime.conftest import StartServers


def activity(room: str) -> object:
    return lambda f: f.get("type") == "activity" and f.get("room") == room


def activities(client: Client, room: str) -> list[Frame]:
    return [f for f in client.frames if f.get("type") == "activity" and f.get("room") == room]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_activity_reaches_unsubscribed_readers_only(
    backend: str, server: str, open_client: OpenClient
) -> None:
    """Ann (a reader, not subscribed) gets the seqs, with her mention; bob (no reader of
    area-a), the author, and a subscribed connection get no `activity` for it."""
    ann = await open_client(server, "ann")
    watching = await open_client(server, "ann")
    await watching.subscribe("area-a", since=None)
    bob = await open_client(server, "bob")
    amy = await open_client(server, "amy")
    first = await amy.send("area-a", "hallo allemaal")
    second = await amy.send("area-a", "@ann kijk je even?")
    seen: set[int] = set()
    mentioned: set[int] = set()
    while len(seen) < 2:
        frame = await ann.next_frame(activity("area-a"))  # type: ignore[arg-type]
        seen.update(frame["unread"])
        mentioned.update(frame.get("mentions", []))
        assert frame["last_seq"] in (first["seq"], second["seq"])
    assert seen == {first["seq"], second["seq"]} and mentioned == {second["seq"]}
    # A room bob may read, sent after: once its activity is here, area-a's would be too.
    third = await amy.send("theme-one", "voor iedereen")
    frame = await bob.wait_for(activity("theme-one"))  # type: ignore[arg-type]
    assert frame["unread"] == [third["seq"]] and "mentions" not in frame
    assert activities(bob, "area-a") == []
    await amy.ping()
    await watching.ping()
    assert activities(amy, "area-a") == [] and activities(watching, "area-a") == []


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_own_posting_state_on_subscribe_and_when_muted(
    backend: str, server: str, api: Api, open_client: OpenClient
) -> None:
    """`subscribed` carries slow mode and the mute's end; a mute and its lift reach the
    muted user's connections as `muted`; a banned user's area activity stops."""
    await api.call("mo", "PATCH", "/api/rooms/theme-one", {"slow_mode_seconds": 30, "reason": "x"})
    ann = await open_client(server, "ann")
    plain = await ann.subscribe("theme-one", since=None)
    assert plain["slow_mode_seconds"] == 30 and "muted_until" not in plain
    muted = await api.call(
        "mo",
        "POST",
        "/api/rooms/theme-one/mutes",
        {"username": "ann", "minutes": 10, "reason": "rust"},
    )
    assert muted.status_code == 201
    told = await ann.wait_for(lambda f: f.get("type") == "muted")
    assert told["room"] == "theme-one" and told["until"] and told["reason"] == "rust"
    again = await ann.subscribe("theme-one", since=None)
    assert again["muted_until"] == told["until"]
    lifted = await api.call("mo", "DELETE", "/api/rooms/theme-one/mutes/ann")
    assert lifted.status_code == 204
    ended = await ann.wait_for(lambda f: f.get("type") == "muted" and f.get("until") is None)
    assert ended["room"] == "theme-one"
    await api.call("mo", "PATCH", "/api/rooms/theme-one", {"slow_mode_seconds": 0, "reason": "x"})
    # A ban: no more activity of the room, and a lift says the room is back.
    banned = await api.call(
        "mo", "POST", "/api/rooms/area-a/bans", {"username": "ann", "reason": "x"}
    )
    assert banned.status_code == 201
    await ann.wait_for(lambda f: f.get("type") == "removed" and f.get("room") == "area-a")
    amy = await open_client(server, "amy")
    await amy.send("area-a", "na de ban")
    sent = await amy.send("theme-two", "elders")
    await ann.wait_for(lambda f: f.get("type") == "activity" and sent["seq"] in f["unread"])
    assert activities(ann, "area-a") == []
    assert (await api.call("mo", "DELETE", "/api/rooms/area-a/bans/ann")).status_code == 204
    back = await ann.wait_for(lambda f: f.get("type") == "room_added")
    assert back["room"] == "area-a"


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_activity_crosses_processes_through_redis(
    backend: str, start_servers: StartServers, open_client: OpenClient
) -> None:
    """A message sent on one process: its `activity` reaches a reader on the other, never
    a user without read access there."""
    a, b = await start_servers(2)
    ann = await open_client(b.url, "ann")
    bob = await open_client(b.url, "bob")
    amy = await open_client(a.url, "amy")
    sent = await amy.send("area-a", "@ann over de grens")
    frame = await ann.wait_for(activity("area-a"))  # type: ignore[arg-type]
    assert frame["unread"] == [sent["seq"]] and frame["mentions"] == [sent["seq"]]
    later = await amy.send("theme-one", "voor iedereen")
    await bob.wait_for(lambda f: f.get("type") == "activity" and later["seq"] in f["unread"])
    assert activities(bob, "area-a") == []

"""Direct conversations: one room per set of people, readable by its members only."""

from __future__ import annotations

from chat.client import Client, ClientError
from tests.clients import Api, OpenClient


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
    """Oneself alone, ten others, or an unknown user is refused."""
    r = await api.post("ann", "/api/direct", {"usernames": ["ann"]})
    assert r.status_code == 400
    many = [f"user{i}" for i in range(10)]
    r = await api.post("ann", "/api/direct", {"usernames": many})
    assert r.status_code == 400
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

"""/ws against one in-process server: the contract's frames, replies and refusals."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chat.client import ClientError
from tests.clients import OpenClient
from tests.helpers import bearer, login, make_settings, running_server, ws_url


async def test_hello_lists_the_same_rooms_as_the_api(server: str, open_client: OpenClient) -> None:
    """`hello` carries the user and exactly the rooms GET /api/rooms lists."""
    ann = await open_client(server, "ann")
    async with httpx.AsyncClient(timeout=10) as http:
        rooms = (await http.get(f"{server}/api/rooms", headers=bearer(ann.token))).json()["rooms"]
    assert ann.hello is not None
    assert ann.hello["user"]["username"] == "ann"
    assert [r["slug"] for r in ann.hello["rooms"]] == [r["slug"] for r in rooms]
    assert "area-b" not in [r["slug"] for r in rooms]
    for room in ann.hello["rooms"]:
        assert {"slug", "kind", "last_seq", "read_seq", "unread"} <= set(room)


async def test_send_is_acked_and_delivered_to_subscribers(
    server: str, open_client: OpenClient
) -> None:
    """A send gets an ack after commit and reaches every subscriber once, with its seq."""
    ann = await open_client(server, "ann")
    amy = await open_client(server, "amy")
    await ann.subscribe("area-a", since=None)
    sub = await amy.subscribe("area-a", since=None)
    assert sub["truncated"] is False
    ack = await ann.send("area-a", "  Goedemorgen  ", client_id="c1")
    assert ack["client_id"] == "c1" and ack["seq"] == sub["last_seq"] + 1
    for client in (ann, amy):
        await client.wait_seq("area-a", ack["seq"])
        event = client.events["area-a"][-1]
        assert event["type"] == "message" and event["body"] == "Goedemorgen"
        assert event["message_id"] == ack["message_id"] and event["client_id"] == "c1"
        assert event["author"]["username"] == "ann"
        assert not client.duplicates and not client.gaps


async def test_resend_with_the_same_client_id_creates_nothing(
    server: str, open_client: OpenClient
) -> None:
    """A second send with a used client_id answers the original ack and adds no event."""
    ann = await open_client(server, "ann")
    await ann.subscribe("theme-one", since=None)
    first = await ann.send("theme-one", "een", client_id="same")
    again = await ann.send("theme-one", "een (nogmaals)", client_id="same")
    assert (again["message_id"], again["seq"]) == (first["message_id"], first["seq"])
    later = await ann.send("theme-one", "twee", client_id="other")
    assert later["seq"] == first["seq"] + 1
    await ann.wait_seq("theme-one", later["seq"])
    assert [e["seq"] for e in ann.events["theme-one"]] == [first["seq"], later["seq"]]


async def test_subscribe_with_since_replays_exactly_the_missing_events(
    server: str, open_client: OpenClient
) -> None:
    """`since = S` brings every event after S in order, then `subscribed`, then live ones."""
    ann = await open_client(server, "ann")
    acks = [await ann.send("theme-two", f"bericht {i}") for i in range(5)]
    amy = await open_client(server, "amy")
    sub = await amy.subscribe("theme-two", since=acks[1]["seq"])
    assert sub["last_seq"] == acks[-1]["seq"]
    assert [e["seq"] for e in amy.events["theme-two"]] == [a["seq"] for a in acks[2:]]
    live = await ann.send("theme-two", "live")
    await amy.wait_seq("theme-two", live["seq"])
    assert [e["seq"] for e in amy.events["theme-two"]][-1] == live["seq"]
    assert not amy.gaps and not amy.duplicates


async def test_edit_and_retract_are_room_events(server: str, open_client: OpenClient) -> None:
    """Edits and retractions get their own seq; a replay shows the message as it is now."""
    ann = await open_client(server, "ann")
    await ann.subscribe("theme-one", since=None)
    ack = await ann.send("theme-one", "eerst")
    await ann.edit("theme-one", ack["message_id"], "daarna")
    edited = await ann.wait_for(lambda f: f.get("type") == "message_edited")
    assert edited["seq"] == ack["seq"] + 1 and edited["body"] == "daarna"
    await ann.retract("theme-one", str(ack["message_id"]))  # type: ignore[arg-type]
    hidden = await ann.wait_for(lambda f: f.get("type") == "message_hidden")
    assert hidden["seq"] == ack["seq"] + 2 and hidden["by"] == "ann"
    amy = await open_client(server, "amy")
    await amy.subscribe("theme-one", since=ack["seq"] - 1)
    replay = amy.events["theme-one"]
    assert [e["type"] for e in replay] == ["message", "message_edited", "message_hidden"]
    assert replay[0]["hidden"] is True and replay[0]["body"] is None


async def test_editing_someone_elses_message_is_forbidden(
    server: str, open_client: OpenClient
) -> None:
    """edit/retract of another author's message: `forbidden`; an unknown one: `not_found`."""
    ann = await open_client(server, "ann")
    amy = await open_client(server, "amy")
    ack = await ann.send("theme-one", "van ann")
    with pytest.raises(ClientError) as refused:
        await amy.request(
            {"type": "edit", "room": "theme-one", "message_id": ack["message_id"], "body": "x"}
        )
    assert refused.value.code == "forbidden"
    with pytest.raises(ClientError) as unknown:
        await amy.request({"type": "retract", "room": "theme-one", "message_id": 999999})
    assert unknown.value.code == "not_found"


async def test_subscribing_to_an_unreadable_room_is_forbidden(
    server: str, open_client: OpenClient
) -> None:
    """Another area's room: `forbidden`; an unknown slug: `not_found`; nothing is delivered."""
    bob = await open_client(server, "bob")
    ann = await open_client(server, "ann")
    with pytest.raises(ClientError) as refused:
        await ann.subscribe("area-b", since=0)
    assert refused.value.code == "forbidden"
    with pytest.raises(ClientError) as unknown:
        await ann.subscribe("no-such-room", since=0)
    assert unknown.value.code == "not_found"
    with pytest.raises(ClientError) as typing:
        await ann.request({"type": "send", "room": "area-b", "body": "x", "client_id": "x"})
    assert typing.value.code == "forbidden"
    await bob.subscribe("area-b", since=None)
    await bob.send("area-b", "alleen voor B")
    await ann.ping()
    assert "area-b" not in ann.events


async def test_upgrade_without_authentication_is_refused_with_401(server: str) -> None:
    """No token, or a wrong one: HTTP 401 and no WebSocket."""
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url(server), additional_headers=headers, open_timeout=10):
                pass
        assert refused.value.response.status_code == 401


async def test_upgrade_from_a_foreign_origin_is_refused_with_403(server: str) -> None:
    """An Origin that is not exactly allowed: HTTP 403, even with a valid token."""
    async with httpx.AsyncClient(timeout=10) as http:
        token = await login(http, server, "ann")
    for origin in ("https://evil.example", server + ".evil.example", "null"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                ws_url(server),
                additional_headers=bearer(token),
                origin=origin,
                open_timeout=10,  # type: ignore[arg-type]
            ):
                pass
        assert refused.value.response.status_code == 403
    async with connect(
        ws_url(server),
        additional_headers=bearer(token),
        origin=server,
        open_timeout=10,  # type: ignore[arg-type]
    ) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello"


async def test_websocket_upgrades_elsewhere_than_ws_are_refused(server: str) -> None:
    """`/ws` is dispatched before the router; any other path still goes through it and is
    refused (HTTP 403: no such WebSocket route), with a valid token too."""
    async with httpx.AsyncClient(timeout=10) as http:
        token = await login(http, server, "ann")
    base = "ws" + server.removeprefix("http")
    for path in ("/ws/", "/wss", "/api/rooms", "/"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(base + path, additional_headers=bearer(token), open_timeout=10):
                pass
        assert refused.value.response.status_code == 403, path


async def test_oversized_frame_closes_with_1009(server: str, open_client: OpenClient) -> None:
    """A frame over the size limit closes the connection with 1009."""
    async with httpx.AsyncClient(timeout=10) as http:
        token = await login(http, server, "ann")
    async with connect(ws_url(server), additional_headers=bearer(token), max_size=None) as ws:
        await asyncio.wait_for(ws.recv(), 10)
        big = json.dumps(
            {"type": "send", "room": "theme-one", "body": "x" * 70_000, "client_id": "b"}
        )
        await ws.send(big)
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_bad_frames_get_errors_and_too_many_close_with_1008(server: str) -> None:
    """Bad frames are answered `bad_frame` (echoing ref); the 11th in a minute closes 1008."""
    async with httpx.AsyncClient(timeout=10) as http:
        token = await login(http, server, "ann")
    async with connect(ws_url(server), additional_headers=bearer(token)) as ws:
        await asyncio.wait_for(ws.recv(), 10)
        bad = ["nope", "[1]", '{"type":"dance","ref":"r1"}', '{"type":"send","ref":"r2"}']
        for text in bad:
            await ws.send(text)
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert reply["type"] == "error" and reply["code"] == "bad_frame"
        assert reply["ref"] == "r2"
        await ws.send('{"type":"ping","ref":"p"}')
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong", "ref": "p"}
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                for _ in range(20):
                    await ws.send("{")
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_send_beyond_the_rate_limit_is_refused_with_retry_after(
    db_url: str, open_client: OpenClient
) -> None:
    """Past the token bucket a send is answered `rate_limited` with `retry_after`."""
    async with running_server(make_settings(db_url, send_burst=5, send_rate=0.5)) as base:
        ann = await open_client(base, "ann")
        results = await asyncio.gather(
            *(ann.send("theme-one", f"n{i}", timeout=30) for i in range(10)),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, ClientError)]
        assert len(refused) >= 4
        assert all(r.code == "rate_limited" and r.retry_after for r in refused)
        await ann.ping()  # still connected: an error never closes by itself


async def test_any_frame_beyond_the_frame_bucket_is_refused(
    db_url: str, open_client: OpenClient
) -> None:
    """Every frame draws from a general bucket (WERKPLAATS_FRAME_BURST/_RATE); past it, a
    frame is answered `rate_limited` without being handled."""
    async with running_server(make_settings(db_url, frame_burst=10, frame_rate=0.2)) as base:
        ann = await open_client(base, "ann")
        for _ in range(14):
            await ann._raw_send({"type": "ping"})
        refused = await ann.wait_for(
            lambda f: f.get("type") == "error" and f.get("code") == "rate_limited"
        )
        assert refused["retry_after"] > 0
        await ann.wait_for(lambda f: sum(g.get("type") == "error" for g in ann.frames) == 4)
        assert sum(f.get("type") == "pong" for f in ann.frames) == 10

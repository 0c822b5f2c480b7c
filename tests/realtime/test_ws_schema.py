"""/ws-schema.json: the served JSON Schema holds for the frames of a real conversation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema_rs
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers import bearer, login

Frame = dict[str, Any]


class Socket:
    """A raw /ws connection that keeps every frame it receives, split as clients split."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[Frame] = []

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def until(self, done: Callable[[Frame], bool]) -> Frame:
        """The first frame, kept or arriving within 10 s, for which `done` holds."""
        async with asyncio.timeout(10):
            while True:
                for frame in self.frames:
                    if done(frame):
                        return frame
                text = await self.ws.recv()
                assert isinstance(text, str)
                self.frames += [json.loads(line) for line in text.split("\n") if line]


def kind(name: str) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == name


async def test_served_schema_validates_a_real_conversation(server: str) -> None:
    """Every frame sent and received in a conversation is valid under /ws-schema.json."""
    async with httpx.AsyncClient(timeout=10) as http:
        schema = (await http.get(f"{server}/ws-schema.json")).json()
        tokens = {u: await login(http, server, u) for u in ("ann", "amy", "rita")}
        url = "ws" + server.removeprefix("http") + "/ws"
        sent: list[Frame] = []
        async with (
            connect(url, additional_headers=bearer(tokens["ann"])) as a1,
            connect(url, additional_headers=bearer(tokens["ann"])) as a2,
            connect(url, additional_headers=bearer(tokens["amy"])) as m1,
        ):
            ann, ann2, amy = Socket(a1), Socket(a2), Socket(m1)

            async def say(sock: Socket, frame: Frame, answer: Callable[[Frame], bool]) -> Frame:
                sent.append(frame)
                await sock.send(frame)
                return await sock.until(answer)

            for sock in (ann, amy):
                await say(
                    sock, {"type": "subscribe", "room": "area-a", "since": None}, kind("presence")
                )
            ack = await say(
                ann,
                {
                    "type": "send",
                    "room": "area-a",
                    "body": "Hoi @amy",
                    "client_id": "s1",
                    "ref": "r1",
                },
                kind("ack"),
            )
            await amy.until(kind("mention"))
            mid = ack["message_id"]
            await say(ann, {"type": "ping", "ref": "p"}, kind("pong"))
            await ann.send({"type": "send", "room": "area-a"})  # no body: an error
            await ann.until(kind("error"))
            sent.append({"type": "typing", "room": "area-a"})
            await ann.send(sent[-1])
            await amy.until(kind("typing"))
            edit = {"type": "edit", "room": "area-a", "message_id": mid, "body": "Hallo"}
            await say(ann, edit, kind("message_edited"))
            sent.append({"type": "read", "room": "area-a", "seq": ack["seq"]})
            await ann.send(sent[-1])
            await ann2.until(kind("read"))
            rita = bearer(tokens["rita"])
            r = await http.post(f"{server}/api/rooms/area-a/pins/{mid}", headers=rita)
            assert r.status_code == 201, r.text
            await amy.until(kind("message_pinned"))
            await say(
                ann,
                {"type": "retract", "room": "area-a", "message_id": mid},
                kind("message_hidden"),
            )
            patch = {"topic": "Nieuw"}
            r = await http.patch(f"{server}/api/rooms/area-a", json=patch, headers=rita)
            assert r.status_code == 200, r.text
            await amy.until(kind("room_updated"))
            await say(ann, {"type": "subscribe", "room": "area-a", "since": 0}, kind("subscribed"))
            ban = {"username": "amy", "reason": "test"}
            r = await http.post(f"{server}/api/rooms/area-a/bans", json=ban, headers=rita)
            assert r.status_code in (200, 201), r.text
            await amy.until(kind("removed"))
            page = await http.get(
                f"{server}/api/rooms/area-a/events", headers=bearer(tokens["ann"])
            )
    received = ann.frames + ann2.frames + amy.frames + page.json()["events"]
    assert {f["type"] for f in received} >= {
        "hello", "subscribed", "presence", "ack", "message", "mention", "pong", "error",
        "typing", "message_edited", "read", "message_hidden", "room_updated",
        "message_pinned", "removed",
    }  # fmt: skip
    assert any(f.get("hidden") for f in received)  # the backlog shows the retracted message
    defs = schema["$defs"]
    server_frames = jsonschema_rs.validator_for({"$ref": "#/$defs/ServerFrame", "$defs": defs})
    client_frames = jsonschema_rs.validator_for({"$ref": "#/$defs/ClientFrame", "$defs": defs})
    for frame in received:
        server_frames.validate(frame)
    for frame in sent:
        client_frames.validate(frame)
    assert not client_frames.is_valid(received[0])  # the schemas do tell frames apart

"""P: python-socketio with its Redis manager under uvicorn, what a Python team would write.

What it does, as Werkplaats does: rooms (`enter_room`), a `send` event answered with an `ack`
and a `message` event of the same shape emitted to the room, fan-out through Redis pub/sub
(`socketio.AsyncRedisManager`) so that several processes could serve one room, uvicorn with
uvloop and httptools, compression off.

What it does not do: authentication, persistence (the ack is not durable), backlog or resume,
access checks, rate limits, presence, moderation. Its seq is per process, not per room.

Run: `uvicorn p_socketio:app --host 127.0.0.1 --port PORT` with `P_REDIS_URL` and
`P_CHANNEL` (a channel of its own, since the Redis server is shared) in the environment.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections import defaultdict
from typing import Any

import socketio

manager = socketio.AsyncRedisManager(
    os.environ.get("P_REDIS_URL", "redis://127.0.0.1:6379/0"),
    channel=os.environ.get("P_CHANNEL", "bench-socketio"),
    # redis-py's asyncio pool holds 100 connections and then raises "Too many connections"
    # instead of waiting; every emit holds one until its PUBLISH returns, so under load
    # the default loses messages. What a team would do once they hit it: a larger pool.
    redis_options={"max_connections": 1000},
)
sio = socketio.AsyncServer(
    async_mode="asgi", client_manager=manager, cors_allowed_origins=[], http_compression=False
)
app = socketio.ASGIApp(sio)
seqs: dict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    n = len(sid)
    await sio.save_session(
        sid,
        {
            "username": f"p{sid[:8]}",
            "display_name": f"Gebruiker {n}",
            "organisation": "Bench",
            "layer": "overig",
        },
    )


@sio.on("subscribe")
async def subscribe(sid: str, data: dict[str, Any]) -> None:
    await sio.enter_room(sid, data["room"])
    await sio.emit("subscribed", {"room": data["room"], "last_seq": 0}, to=sid)


@sio.on("send")
async def send(sid: str, data: dict[str, Any]) -> None:
    room = data["room"]
    seq = next(seqs[room])
    event = {
        "type": "message",
        "room": room,
        "seq": seq,
        "message_id": seq,
        "author": await sio.get_session(sid),
        "body": data["body"],
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "client_id": data.get("client_id"),
        "reply_to": None,
    }
    await sio.emit("message", event, room=room)
    await sio.emit("ack", {"client_id": data.get("client_id"), "seq": seq}, to=sid)

"""U: a raw `websockets` broadcast server, the practical upper limit for a Python server.

What it does, as Werkplaats does: rooms; the same `hello`, `subscribed`, `ack` and `message`
frame shapes; a per-room seq; each event encoded once and handed to every subscriber with
`websockets.broadcast` (no await per recipient); uvloop.

What it does not do: authentication, persistence (an `ack` here is not durable: nothing is
committed anywhere), backlog or resume (`since` is ignored), access checks, rate limits,
presence, typing, edits, moderation, several processes, bounded queues (a slow client's
frames pile up in its write buffer). It is a floor for our costs, not a competitor.

Run: `python u_websockets.py PORT` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import datetime as dt
import itertools
import sys
from collections import defaultdict

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

rooms: dict[str, set[ServerConnection]] = defaultdict(set)
seqs: dict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
ids = itertools.count(1)


async def handler(ws: ServerConnection) -> None:
    me = next(ids)
    author = {
        "username": f"u{me}",
        "display_name": f"Gebruiker {me}",
        "organisation": "Bench",
        "layer": "overig",
    }
    mine: set[str] = set()
    await ws.send(orjson.dumps({"type": "hello", "user": author, "rooms": []}).decode())
    try:
        async for text in ws:
            frame = orjson.loads(text)
            kind = frame.get("type")
            room = frame.get("room", "")
            if kind == "subscribe":
                rooms[room].add(ws)
                mine.add(room)
                await ws.send(
                    orjson.dumps({"type": "subscribed", "room": room, "last_seq": 0}).decode()
                )
            elif kind == "send":
                seq = next(seqs[room])
                event = {
                    "type": "message",
                    "room": room,
                    "seq": seq,
                    "message_id": seq,
                    "author": author,
                    "body": frame["body"],
                    "created_at": dt.datetime.now(dt.UTC).isoformat(),
                    "client_id": frame.get("client_id"),
                    "reply_to": None,
                }
                broadcast(rooms[room], orjson.dumps(event).decode())
                ack = {"type": "ack", "client_id": frame.get("client_id"), "seq": seq}
                await ws.send(orjson.dumps(ack).decode())
            elif kind == "ping":
                await ws.send('{"type":"pong"}')
    finally:
        for room in mine:
            rooms[room].discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))

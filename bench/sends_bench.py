"""In-process send-path timing: lone sends one after another, then sends in batches.

`python -m bench.sends_bench [count]` times `count` lone sends (each a batch of one) and
`count` concurrent sends (group commit) on SQLite and PostgreSQL, each on a fresh seeded
database: the store path alone. Then `count` lone `send` frames handed to a connection
(`ClientConnection.handle`: parse, limits, the store, publish, activity, the ack), with no
subscriber and no socket: what a message costs besides its deliveries. It prints sends per
second and the process's CPU per send (all its threads: the SQLite writer's too).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import uvloop

from chat.config import ChatConfig
from chat.connection import ClientConnection
from chat.frames import Author, HelloUser
from chat.groupcommit import GroupCommit
from chat.realtime import Realtime
from chat.store import SendRequest
from persistence.accounts import actor_for, user_by_name
from persistence.db import Database
from tests.helpers import Templates, postgres_up
from tests.sockets import NullSocket
from web.wire import author_wire

ROOMS = ("theme-one", "theme-two")


async def _requests(db: Database, count: int, tag: str) -> list[SendRequest]:
    async with db.read() as session:
        user = await user_by_name(session, "ann")
        assert user is not None
        actor = await actor_for(session, user)
        author = Author(**author_wire(user))
    return [
        SendRequest(actor, author, ROOMS[i % 2], f"{tag} {i}", f"{tag}-{i}", None)
        for i in range(count)
    ]


class Timed:
    """Wall-clock rate and CPU microseconds per send of one part of the run."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def done(self) -> tuple[float, float]:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        return self.count / wall, cpu * 1e6 / self.count


async def _run(url: str, count: int) -> tuple[tuple[float, float], tuple[float, float]]:
    db = Database(url)
    commit = GroupCommit(db)
    try:
        warm = await _requests(db, 20, "warm")
        for r in warm:
            await commit.post(r)
        lone = await _requests(db, count, "lone")
        timed = Timed(count)
        for r in lone:
            await commit.post(r)
        lone_figures = timed.done()
        batched = await _requests(db, count, "batch")
        timed = Timed(count)
        await asyncio.gather(*(commit.post(r) for r in batched))
        batch_figures = timed.done()
        await commit.close()
        return lone_figures, batch_figures
    finally:
        await db.dispose()


_LIMITLESS = 10_000_000


async def _connection_run(url: str, count: int) -> tuple[float, float]:
    """Lone `send` frames through one connection of a running Realtime."""
    db = Database(url)
    config = ChatConfig(
        redis_url=None,
        redis_prefix="bench",
        send_burst=_LIMITLESS,
        send_rate=_LIMITLESS,
        frame_burst=_LIMITLESS,
        frame_rate=_LIMITLESS,
        backlog_cap=100,
        ws_queue_frames=2000,
        presence_ttl_seconds=30.0,
    )
    rt = Realtime(config, db)
    await rt.start()
    try:
        async with db.read() as session:
            user = await user_by_name(session, "ann")
            assert user is not None
            actor = await actor_for(session, user)
        hello = HelloUser(**author_wire(user), role=user.role)
        conn = ClientConnection(rt, NullSocket(), actor, hello, "bench")
        rt.register(conn)
        await conn.start([])

        def frame(tag: str, i: int) -> bytes:
            body = f"t={i};k=0;s=1;n={i};" + "x" * 80
            send = {"type": "send", "room": ROOMS[0], "body": body, "client_id": f"{tag}-{i}"}
            return msgspec.json.encode(send)

        for i in range(20):
            await conn.handle(frame("warm", i).decode())
        texts = [frame("conn", i).decode() for i in range(count)]
        timed = Timed(count)
        for text in texts:
            await conn.handle(text)
        figures = timed.done()
        await rt.unregister(conn)
        return figures
    finally:
        await rt.stop()
        await db.dispose()


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        templates = Templates(Path(tmp))
        urls = [("sqlite", await templates.sqlite(Path(tmp) / "bench.db"))]
        if postgres_up():
            urls.append(("postgresql", await templates.postgres()))
        try:
            for name, url in urls:
                (lone, lone_cpu), (batch, batch_cpu) = await _run(url, count)
                print(
                    f"{name:10} lone {lone:8.0f}/s {lone_cpu:6.0f} µs CPU each   "
                    f"batched {batch:8.0f}/s {batch_cpu:6.0f} µs CPU each"
                )
            for name, url in urls:
                rate, cpu = await _connection_run(url, count)
                print(f"{name:10} through a connection {rate:8.0f}/s {cpu:6.0f} µs CPU each")
        finally:
            for name, url in urls:
                if name == "postgresql":
                    await templates.drop_postgres(url)
            await asyncio.to_thread(templates.cleanup)


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]) if sys.argv[1:] else 2000))

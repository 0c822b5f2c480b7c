"""In-process send-path timing: lone sends one after another, then sends in batches.

`python -m bench.sends_bench [count]` times `count` lone sends (each a batch of one) and
`count` concurrent sends (group commit) on SQLite and PostgreSQL, each on a fresh seeded
database; it prints sends per second. No server, no sockets: the store path alone.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from chat.frames import Author
from chat.groupcommit import GroupCommit
from chat.store import SendRequest
from persistence.accounts import actor_for, user_by_name
from persistence.db import Database
from tests.helpers import Templates, postgres_up
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


async def _run(url: str, count: int) -> tuple[float, float]:
    db = Database(url)
    commit = GroupCommit(db)
    try:
        warm = await _requests(db, 20, "warm")
        for r in warm:
            await commit.post(r)
        lone = await _requests(db, count, "lone")
        started = time.perf_counter()
        for r in lone:
            await commit.post(r)
        lone_rate = count / (time.perf_counter() - started)
        batched = await _requests(db, count, "batch")
        started = time.perf_counter()
        await asyncio.gather(*(commit.post(r) for r in batched))
        batch_rate = count / (time.perf_counter() - started)
        await commit.close()
        return lone_rate, batch_rate
    finally:
        await db.dispose()


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        templates = Templates(Path(tmp))
        urls = [("sqlite", await templates.sqlite(Path(tmp) / "bench.db"))]
        if postgres_up():
            urls.append(("postgresql", await templates.postgres()))
        try:
            for name, url in urls:
                lone, batch = await _run(url, count)
                print(f"{name:10} lone {lone:8.0f}/s   batched {batch:8.0f}/s")
        finally:
            for name, url in urls:
                if name == "postgresql":
                    await templates.drop_postgres(url)
            await asyncio.to_thread(templates.cleanup)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if sys.argv[1:] else 2000))

"""Run as a separate OS process: many concurrent sends through one group commit (or, with
a sixth argument `serial`, one send at a time)."""

from __future__ import annotations

import asyncio
import sys

from chat.frames import Author
from chat.groupcommit import GroupCommit
from chat.store import SendRequest
from persistence.accounts import actor_for, user_by_name
from persistence.db import Database
from web.wire import author_wire


async def main(
    url: str, rooms: str, username: str, count: int, tag: str, serial: bool = False
) -> None:
    db = Database(url)
    commit = GroupCommit(db)
    try:
        async with db.read() as session:
            user = await user_by_name(session, username)
            assert user is not None
            actor = await actor_for(session, user)
            author = Author(**author_wire(user))
        slugs = rooms.split(",")
        # Every tenth send repeats the client_id of the one before it.
        reqs = [
            SendRequest(
                actor,
                author,
                slugs[i // 10 % len(slugs)],
                f"{tag} {i}",
                f"{tag}-{i - i % 10 // 9}",
                None,
            )
            for i in range(count)
        ]
        if serial:
            for r in reqs:
                await commit.post(r)
        else:
            await asyncio.gather(*(commit.post(r) for r in reqs))
        await commit.close()
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(
        main(
            sys.argv[1],
            sys.argv[2],
            sys.argv[3],
            int(sys.argv[4]),
            sys.argv[5],
            sys.argv[6:7] == ["serial"],
        )
    )

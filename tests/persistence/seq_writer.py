"""Run as a separate OS process: post messages into one room as fast as possible."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import select

from persistence.db import Database
from persistence.events import post_message
from persistence.models import Room, User


async def main(url: str, room_slug: str, username: str, count: int, tag: str) -> None:
    db = Database(url)
    try:
        async with db.read() as session:
            room_id = (
                await session.execute(select(Room.id).where(Room.slug == room_slug))
            ).scalar_one()
            user_id = (
                await session.execute(select(User.id).where(User.username == username))
            ).scalar_one()
        for i in range(count):
            async with db.write() as session:
                await post_message(session, room_id, user_id, f"{tag} bericht {i}", f"{tag}-{i}")
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))

"""Fixtures of the between-meetings tests: messages and meetings written directly."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from persistence import events
from persistence.db import Database
from persistence.models import Meeting, Membership, Room, Theme, User, utcnow


class Store:
    """Writes straight to the test database, as another server process would."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.n = 0

    async def post(
        self,
        slug: str,
        username: str,
        body: str,
        *,
        reply_to: int | None = None,
        at: datetime | None = None,
    ) -> int:
        """Post a message; returns its id."""
        self.n += 1
        async with self.db.write() as s:
            room = (await s.execute(select(Room).where(Room.slug == slug))).scalar_one()
            user = (await s.execute(select(User).where(User.username == username))).scalar_one()
            posted = await events.post_message(
                s, room.id, user.id, body, f"c{self.n}", reply_to=reply_to, at=at
            )
            return posted.message.id

    async def meeting(self, slug: str, theme: str, starts_at: datetime) -> None:
        """A meeting and its room, as `load` or `POST /api/meetings` make them."""
        async with self.db.write() as s:
            t = (await s.execute(select(Theme).where(Theme.slug == theme))).scalar_one()
            m = Meeting(slug=slug, title=f"Bijeenkomst {slug}", theme_id=t.id, starts_at=starts_at)
            s.add(m)
            await s.flush()
            s.add(Room(slug=slug, name=m.title, kind="meeting", last_seq=0, meeting_id=m.id))

    async def joined(self, username: str, area: str, at: datetime) -> None:
        async with self.db.write() as s:
            room = (await s.execute(select(Room).where(Room.slug == area))).scalar_one()
            user = (await s.execute(select(User).where(User.username == username))).scalar_one()
            s.add(Membership(room_id=room.id, user_id=user.id, joined_at=at))


@pytest.fixture
def store(database: Database) -> Store:
    return Store(database)


def days_ago(n: float) -> datetime:
    return utcnow() - timedelta(days=n)

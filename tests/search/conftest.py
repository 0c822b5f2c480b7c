"""A corpus to search: messages posted through the real write path, searched as a user."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from persistence import events, search
from persistence.db import Database
from persistence.models import Message, Room, User
from tests.persistence.posting import post


@dataclass
class Corpus:
    """Post, edit and hide messages as the app does; search as a given user."""

    db: Database
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def _user(self, session: Any, username: str) -> User:
        return (await session.execute(select(User).where(User.username == username))).scalar_one()

    async def _room_id(self, session: Any, slug: str) -> int:
        return int((await session.execute(select(Room.id).where(Room.slug == slug))).scalar_one())

    async def post(self, room: str, username: str, body: str, at: datetime | None = None) -> int:
        stored = await post(self.db, room, username, body, f"c{next(self._ids)}", at=at)
        return stored.message_id

    async def edit(self, message_id: int, body: str) -> None:
        async with self.db.write() as session:
            message = await session.get(Message, message_id)
            assert message is not None
            await events.edit_message(session, message, body, message.author_id)

    async def hide(self, message_id: int, by: str = "mo") -> None:
        async with self.db.write() as session:
            message = await session.get(Message, message_id)
            assert message is not None
            await events.hide_message(session, message, await self._user(session, by), "test")

    async def page(
        self,
        username: str,
        q: str,
        *,
        room: str | None = None,
        sort: search.Sort = search.Sort.RELEVANCE,
        limit: int = 20,
        cursor: str | None = None,
        **filters: Any,
    ) -> search.Page:
        async with self.db.read() as session:
            user = await self._user(session, username)
            room_id = await self._room_id(session, room) if room else None
            request = search.SearchRequest(
                search.parse(q), search.Filters(room_id, **filters), sort, limit, cursor
            )
            return await search.search(session, user.id, request)

    async def ids(self, username: str, q: str, **kwargs: Any) -> set[int]:
        """The message ids a user finds (all of them: one big page)."""
        page = await self.page(username, q, limit=100, **kwargs)
        return {h.message_id for h in page.hits}


@pytest.fixture
async def corpus(database: Database) -> AsyncIterator[Corpus]:
    yield Corpus(database)

"""Fixtures of the moderation tests: an API caller per user and messages to act on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from persistence import events
from persistence.db import Database
from persistence.models import Room, User
from persistence.rooms import room_by_slug
from tests.helpers import bearer, login


class Api:
    """Calls the server as a fixture user; logs each user in once."""

    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self.client = client
        self.base = base
        self.tokens: dict[str, str] = {}

    async def token(self, username: str) -> str:
        if username not in self.tokens:
            self.tokens[username] = await login(self.client, self.base, username)
        return self.tokens[username]

    async def call(
        self, username: str | None, method: str, path: str, body: Any = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if username is not None:
            headers.update(bearer(await self.token(username)))
        return await self.client.request(
            method, f"{self.base}{path}", json=body, headers=headers, **kw
        )


@pytest.fixture
async def api(server: str, client: httpx.AsyncClient) -> AsyncIterator[Api]:
    yield Api(client, server)


async def post(database: Database, room: str, username: str, body: str) -> int:
    """Store a message as `username` in `room`; returns its id."""
    async with database.write() as session:
        found = await room_by_slug(session, room)
        author = (await session.execute(select(User).where(User.username == username))).scalar_one()
        assert isinstance(found, Room)
        n = found.last_seq + 1
        posted = await events.post_message(session, found.id, author.id, body, f"t-{n}")
        return posted.message.id

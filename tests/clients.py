"""The suite's one HTTP API caller and one `/ws` client factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from chat.client import Client
from tests.helpers import bearer, login

OpenClient = Callable[..., Awaitable[Client]]


class Api:
    """Calls the server as a fixture user; logs each user in once."""

    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self.client = client
        self.base = base
        self.tokens: dict[str, str] = {}

    async def token(self, username: str) -> str:
        """The user's bearer token (logged in on first use)."""
        if username not in self.tokens:
            self.tokens[username] = await login(self.client, self.base, username)
            # Bearer only: a cookie left in the jar would authenticate "logged-out" calls.
            self.client.cookies.clear()
        return self.tokens[username]

    async def call(
        self, username: str | None, method: str, path: str, body: Any = None, **kw: Any
    ) -> httpx.Response:
        """`method path` with `body` as JSON, as `username` (None: logged out)."""
        headers = dict(kw.pop("headers", {}))
        if username is not None:
            headers.update(bearer(await self.token(username)))
        return await self.client.request(
            method, f"{self.base}{path}", json=body, headers=headers, **kw
        )

    async def get(self, username: str | None, path: str) -> httpx.Response:
        """`GET path` as `username`."""
        return await self.call(username, "GET", path)

    async def post(self, username: str | None, path: str, body: Any = None) -> httpx.Response:
        """`POST path` as `username`."""
        return await self.call(username, "POST", path, body)

    async def events(self, username: str, room: str) -> list[dict[str, Any]]:
        """Every event of the room that `username` may see."""
        r = await self.get(username, f"/api/rooms/{room}/events?after=0")
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()["events"]
        return found


@contextlib.asynccontextmanager
async def client_factory() -> AsyncIterator[OpenClient]:
    """`await open(base, "ann", **options)` logs in and connects; all are closed at the end."""
    opened: list[Client] = []

    async def make(base: str, username: str, **options: Any) -> Client:
        async with httpx.AsyncClient(timeout=10) as http:
            token = await login(http, base, username)
        client = Client(base, token, **options)
        await client.connect()
        opened.append(client)
        return client

    try:
        yield make
    finally:
        for client in opened:
            with contextlib.suppress(Exception):
                await client.close()


async def wait_closed(client: Client, timeout: float = 10) -> None:
    """Until the server has closed the client's connection."""
    async with asyncio.timeout(timeout):
        while not client.close_codes:
            await asyncio.sleep(0.02)

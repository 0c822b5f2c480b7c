"""Fixtures of the real-time tests: logged-in `chat.client.Client`s against real servers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from chat.client import Client
from tests.helpers import login

OpenClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def open_client() -> AsyncIterator[OpenClient]:
    """A factory: `await open_client(base, "ann")` logs in and connects; all closed at the end."""
    opened: list[Client] = []

    async def make(base: str, username: str, **options: object) -> Client:
        async with httpx.AsyncClient(timeout=10) as http:
            token = await login(http, base, username)
        client = Client(base, token, **options)  # type: ignore[arg-type]
        await client.connect()
        opened.append(client)
        return client

    yield make
    for client in opened:
        with contextlib.suppress(Exception):
            await client.close()

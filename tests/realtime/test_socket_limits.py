"""Sockets per user and per address: one more than allowed is refused with 429 at the upgrade."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import msgspec
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.helpers import bearer, login, running_server, ws_url
from web.settings import Settings

# Counting sockets touches no storage: SQLite alone.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])
USERS = ("ann", "amy", "bob", "rita", "mo", "ada")


async def open_socket(base: str, token: str) -> ClientConnection:
    """An open `/ws` whose `hello` has arrived."""
    ws = await connect(ws_url(base), additional_headers=bearer(token), open_timeout=10)
    hello = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "hello"
    return ws


async def assert_refused(base: str, token: str) -> None:
    """The upgrade is answered 429 `rate_limited` with Retry-After; no WebSocket opens."""
    with pytest.raises(InvalidStatus) as refused:
        ws = await connect(ws_url(base), additional_headers=bearer(token), open_timeout=10)
        await ws.close()
    response = refused.value.response
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert orjson.loads(bytes(response.body or b""))["error"]["code"] == "rate_limited"


@contextlib.asynccontextmanager
async def sockets() -> AsyncIterator[list[ClientConnection]]:
    opened: list[ClientConnection] = []
    try:
        yield opened
    finally:
        async with asyncio.timeout(20):
            await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


async def tokens(client: httpx.AsyncClient, base: str) -> dict[str, str]:
    found = {name: await login(client, base, name) for name in USERS}
    client.cookies.clear()
    return found


async def test_the_21st_socket_of_a_user_is_refused(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """With the defaults, a user's 21st socket gets 429; closing one lets the next in."""
    assert settings.ws_max_per_user == 20
    async with running_server(settings) as base, sockets() as opened:
        token = await login(client, base, "ann")
        for _ in range(20):
            opened.append(await open_socket(base, token))
        await assert_refused(base, token)
        # Another user from the same address is not affected.
        opened.append(await open_socket(base, await login(client, base, "amy")))
        first = opened.pop(0)
        await asyncio.wait_for(first.close(), 10)
        async with asyncio.timeout(10):
            while True:  # the server ends its side of the socket just after the close
                with contextlib.suppress(InvalidStatus):
                    opened.append(await open_socket(base, token))
                    break
                await asyncio.sleep(0.05)
        await assert_refused(base, token)


async def test_one_more_socket_from_an_address_is_refused(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """Past the per-address limit, any user's next socket from that address gets 429."""
    limited = msgspec.structs.replace(settings, ws_max_per_address=9, ws_max_per_user=4)
    async with running_server(limited) as base, sockets() as opened:
        users = await tokens(client, base)
        for name in USERS[:3]:
            for _ in range(3):
                opened.append(await open_socket(base, users[name]))
        for name in USERS:
            await assert_refused(base, users[name])
        await asyncio.wait_for(opened.pop().close(), 10)
        async with asyncio.timeout(10):
            while True:
                with contextlib.suppress(InvalidStatus):
                    opened.append(await open_socket(base, users["ada"]))
                    break
                await asyncio.sleep(0.05)


async def test_a_refused_upgrade_never_sees_hello(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """The refusal is an HTTP answer to the upgrade: no WebSocket, so no `hello` frame."""
    limited = msgspec.structs.replace(settings, ws_max_per_user=1)
    async with running_server(limited) as base, sockets() as opened:
        token = await login(client, base, "bob")
        opened.append(await open_socket(base, token))
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url(base), additional_headers=bearer(token)) as ws:
                await asyncio.wait_for(ws.recv(), 5)  # pragma: no cover - never opens
        assert refused.value.response.status_code == 429
        assert b"hello" not in bytes(refused.value.response.body or b"")


async def test_refused_upgrades_give_their_place_back(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """Refused upgrades (401) give their place back: they never fill the address's count."""
    limited = msgspec.structs.replace(settings, ws_max_per_address=2)
    async with running_server(limited) as base, sockets() as opened:
        for _ in range(5):
            with pytest.raises(InvalidStatus) as refused:
                await connect(ws_url(base), additional_headers=bearer("nope"), open_timeout=10)
            assert refused.value.response.status_code == 401
        token = await login(client, base, "ann")
        opened.append(await open_socket(base, token))
        opened.append(await open_socket(base, token))
        await assert_refused(base, token)

"""/readyz answers 503 while PostgreSQL cannot serve a query, and 200 again after.

The server reaches PostgreSQL through a TCP proxy the test controls, so the shared
PostgreSQL is never restarted: the proxy resets every connection and refuses new ones (a
restart), lets old connections live but refuses new ones (a pool would still say yes), or
passes no byte at all (a paused or black-holed database: a check without a timeout hangs).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.chaos.proxy import Mode, TcpProxy
from tests.helpers import PG_HOST, Templates, make_settings, postgres_up, require, running_server
from web.health import CHECK_TIMEOUT

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    p = TcpProxy(PG_HOST, 5432)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


@pytest.fixture
async def base(templates: Templates, proxy: TcpProxy) -> AsyncIterator[str]:
    """A server whose database URL goes through the proxy."""
    require("PostgreSQL", postgres_up(), "127.0.0.1:5432")
    url = await templates.postgres()
    through = url.replace(f"@{PG_HOST}:5432/", f"@127.0.0.1:{proxy.port}/")
    try:
        async with running_server(make_settings(through)) as served:
            yield served
    finally:
        proxy.set_mode(Mode.OPEN)
        await templates.drop_postgres(url)


async def readyz(http: httpx.AsyncClient, base: str) -> tuple[int, bool]:
    r = await http.get(f"{base}/readyz")
    return r.status_code, bool(r.json()["database"])


async def until_ready(http: httpx.AsyncClient, base: str) -> None:
    async with asyncio.timeout(10):
        while (await readyz(http, base))[0] != 200:
            await asyncio.sleep(0.05)


async def test_readyz_is_503_while_the_database_is_cut_and_200_after(
    base: str, proxy: TcpProxy
) -> None:
    # The client's own timeout is well above the check's: a hang would fail the test.
    async with httpx.AsyncClient(timeout=CHECK_TIMEOUT * 5) as http:
        assert await readyz(http, base) == (200, True)

        proxy.set_mode(Mode.REFUSE_NEW)
        proxy.cut()
        assert await readyz(http, base) == (503, False)
        assert await readyz(http, base) == (503, False)
        assert (await http.get(f"{base}/healthz")).status_code == 200

        proxy.set_mode(Mode.OPEN)
        await until_ready(http, base)


async def test_readyz_does_not_answer_from_a_pooled_connection(base: str, proxy: TcpProxy) -> None:
    """Connections made before still work, new ones are refused: not ready."""
    async with httpx.AsyncClient(timeout=CHECK_TIMEOUT * 5) as http:
        await http.get(f"{base}/api/rooms")  # the app's pool holds connections now
        assert await readyz(http, base) == (200, True)
        proxy.set_mode(Mode.REFUSE_NEW)
        assert await readyz(http, base) == (503, False)
        proxy.set_mode(Mode.OPEN)
        await until_ready(http, base)


async def test_readyz_is_503_within_its_timeout_while_the_database_stalls(
    base: str, proxy: TcpProxy
) -> None:
    """No byte passes: the check gives up after CHECK_TIMEOUT instead of hanging."""
    async with httpx.AsyncClient(timeout=CHECK_TIMEOUT * 5) as http:
        assert await readyz(http, base) == (200, True)
        proxy.set_mode(Mode.STALL)
        assert await readyz(http, base) == (503, False)
        proxy.set_mode(Mode.OPEN)
        await until_ready(http, base)

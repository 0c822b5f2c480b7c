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

from tests.helpers import Templates, make_settings, running_server
from tests.net.faultproxy import FaultProxy
from web.health import CHECK_TIMEOUT

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]


@pytest.fixture
async def base(templates: Templates, pg_proxy: FaultProxy) -> AsyncIterator[str]:
    """A server whose database URL goes through the proxy."""
    url = await templates.postgres()
    through = pg_proxy.through(url)
    try:
        async with running_server(make_settings(through)) as served:
            yield served
    finally:
        pg_proxy.heal()
        await templates.drop_postgres(url)


async def readyz(http: httpx.AsyncClient, base: str) -> tuple[int, bool]:
    r = await http.get(f"{base}/readyz")
    return r.status_code, bool(r.json()["database"])


async def until_ready(http: httpx.AsyncClient, base: str) -> None:
    async with asyncio.timeout(10):
        while (await readyz(http, base))[0] != 200:
            await asyncio.sleep(0.05)


# How the proxy fails, and what that stands for.
OUTAGES = {
    # Every connection reset, new ones refused: a PostgreSQL restart.
    "restart": FaultProxy.cut,
    # Connections made before still work, new ones are refused: a pool would still say yes.
    "new_refused": FaultProxy.refuse_new,
    # No byte passes: a check without a timeout would hang; this one gives up after 1 s.
    "stall": FaultProxy.blackhole,
}


@pytest.mark.parametrize("outage", list(OUTAGES))
async def test_readyz_is_503_during_the_outage_and_200_after(
    base: str, pg_proxy: FaultProxy, outage: str
) -> None:
    # The client's own timeout is well above the check's: a hang would fail the test.
    async with httpx.AsyncClient(timeout=CHECK_TIMEOUT * 5) as http:
        await http.get(f"{base}/api/rooms")  # the app's pool holds connections now
        assert await readyz(http, base) == (200, True)

        OUTAGES[outage](pg_proxy)
        assert await readyz(http, base) == (503, False)
        assert await readyz(http, base) == (503, False)
        assert (await http.get(f"{base}/healthz")).status_code == 200

        pg_proxy.heal()
        await until_ready(http, base)

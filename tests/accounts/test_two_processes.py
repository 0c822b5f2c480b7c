"""Disabling an account on one `werkplaats serve` process closes its sockets on another."""

from __future__ import annotations

import httpx
import pytest

from tests.clients import Api, OpenClient, wait_closed
from tests.helpers import POSTGRES_ONLY, ServerProcess, password_of
from tests.moderation.conftest import two_servers  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@POSTGRES_ONLY
async def test_disable_on_one_process_closes_sockets_on_the_other(
    two_servers: tuple[ServerProcess, ServerProcess],  # noqa: F811
    open_client: OpenClient,
) -> None:
    """Sockets on B close with 1008 within a second of a PATCH on A; B refuses the login."""
    a, b = two_servers
    on_b = [await open_client(b.url, "amy"), await open_client(b.url, "amy")]
    async with httpx.AsyncClient(timeout=10) as http:
        api = Api(http, a.url)
        r = await api.call("ada", "PATCH", "/api/users/amy", {"disabled": True})
        assert r.status_code == 200, r.text
        for socket in on_b:
            await wait_closed(socket, timeout=1.0)
            assert 1008 in socket.close_codes
        refused = await http.post(
            f"{b.url}/api/session", json={"username": "amy", "password": password_of("amy")}
        )
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "bad_credentials"

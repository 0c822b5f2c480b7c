"""A meeting changed on one `werkplaats serve` process is seen at once on another."""

from __future__ import annotations

import httpx
import pytest

from tests.clients import Api, OpenClient
from tests.helpers import POSTGRES_ONLY, ServerProcess
from tests.moderation.conftest import two_servers  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.slow, pytest.mark.redis]
M = "/api/meetings/meeting-one"


@POSTGRES_ONLY
async def test_change_and_registration_reach_the_other_process(
    two_servers: tuple[ServerProcess, ServerProcess],  # noqa: F811
    open_client: OpenClient,
) -> None:
    """PATCH on A: B's subscriber gets `meeting_changed` and the registered member's
    connection on B a notice; a registration on A is in B's counts at once, and every
    connection on B hears `meeting_updated` with the new counts (open meeting pages follow)."""
    a, b = two_servers
    async with httpx.AsyncClient(timeout=10) as http:
        on_a, on_b = Api(http, a.url), Api(http, b.url)
        bob = await open_client(b.url, "bob")
        r = await on_a.call("ann", "PUT", f"{M}/registration", {"status": "going"})
        assert r.status_code == 200, r.text
        counts = (await on_b.get("bob", M)).json()["meeting"]["counts"]
        assert counts["going"] == 1 and counts["by_layer"]["gemeente"] == 1
        heard = await bob.wait_for(lambda f: f.get("type") == "meeting_updated", timeout=2)
        assert heard["meeting"] == "meeting-one" and heard["counts"] == counts
        ann = await open_client(b.url, "ann")
        await bob.subscribe("meeting-one", since=None)
        r = await on_a.call("ada", "PATCH", M, {"place": "Deventer"})
        assert r.status_code == 200, r.text
        frame = await bob.wait_for(lambda f: f.get("type") == "meeting_changed", timeout=2)
        assert frame["meeting"]["place"] == "Deventer"
        notice = await ann.wait_for(lambda f: f.get("type") == "notice", timeout=2)
        assert notice["kind"] == "meeting_changed"
        heard = await ann.wait_for(lambda f: f.get("type") == "meeting_updated", timeout=2)
        assert heard["meeting"] == "meeting-one"
        assert (await on_b.get("ann", M)).json()["meeting"]["place"] == "Deventer"

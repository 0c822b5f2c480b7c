"""`chat.client` reconnects through a balancer whose backends are restarting.

The restore drill (test_topology.py) lost 2 of 8 clients this way: both servers closed with
1012, nginx answered the next upgrades 502 (no backend) without `Retry-After`, and the
client's reconnect loop took that refusal for a connection: it marked itself connected on
the old, closed socket, sent its subscribes into it, and began again at once, forever.
A fake server shows it here in a second, without the topology.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from chat.client import Client

pytestmark = pytest.mark.timeout(60)


class Backend:
    """Says hello; closes every socket with 1012 on `restart()`; refuses the next
    `refusals` upgrades with `status` (as a balancer without a backend does)."""

    def __init__(self) -> None:
        self.sockets: set[ServerConnection] = set()
        self.refusals = 0
        self.status = HTTPStatus.BAD_GATEWAY
        self.refused = 0
        self.subscribes: list[dict[str, Any]] = []

    def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if self.refusals > 0:
            self.refusals -= 1
            self.refused += 1
            return conn.respond(self.status, "no backend\n")
        return None

    async def handler(self, conn: ServerConnection) -> None:
        self.sockets.add(conn)
        try:
            await conn.send(json.dumps({"type": "hello", "rooms": []}))
            async for raw in conn:
                frame = json.loads(raw)
                if frame.get("type") == "subscribe":
                    self.subscribes.append(frame)
                    reply = {"type": "subscribed", "room": frame["room"], "last_seq": 0}
                    if frame.get("ref"):
                        reply["ref"] = frame["ref"]
                    await conn.send(json.dumps(reply))
        finally:
            self.sockets.discard(conn)

    async def restart(self, refusals: int, status: HTTPStatus) -> None:
        self.refusals, self.status = refusals, status
        for conn in list(self.sockets):
            await conn.close(1012, "restarting")


@pytest.mark.parametrize("status", [HTTPStatus.BAD_GATEWAY, HTTPStatus.INTERNAL_SERVER_ERROR])
async def test_the_client_reconnects_after_refused_upgrades_without_retry_after(
    status: HTTPStatus,
) -> None:
    backend = Backend()
    async with serve(
        backend.handler, "127.0.0.1", 0, process_request=backend.process_request
    ) as server:
        port = server.sockets[0].getsockname()[1]
        client = Client(f"http://127.0.0.1:{port}", "token", keepalive=None)
        await client.connect()
        try:
            await client.subscribe("room", since=0)
            await backend.restart(refusals=5, status=status)
            await client.next_frame(lambda f: f.get("type") == "subscribed", timeout=30)
            assert client.connects == 2 and backend.refused == 5
            # One close (the restart), not one per refusal; subscribed again on the new socket.
            assert client.close_codes == [1012]
            assert [f["room"] for f in backend.subscribes] == ["room", "room"]
            assert client._connected.is_set()
        finally:
            await client.close()


async def test_a_refused_upgrade_never_marks_the_client_connected() -> None:
    """While every upgrade is refused, `send` waits (it is not written into a dead socket)."""
    backend = Backend()
    async with serve(
        backend.handler, "127.0.0.1", 0, process_request=backend.process_request
    ) as server:
        port = server.sockets[0].getsockname()[1]
        client = Client(f"http://127.0.0.1:{port}", "token", keepalive=None)
        await client.connect()
        try:
            await backend.restart(refusals=1_000_000, status=HTTPStatus.BAD_GATEWAY)
            await asyncio.sleep(1.0)
            assert not client._connected.is_set()
            assert backend.refused > 1  # still trying
            assert client.close_codes == [1012]
        finally:
            await client.close()

"""Limits and backpressure: slow readers, idle clients, and a fuzzer of arbitrary frames."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pytest

from chat.client import Client
from tests.clients import OpenClient, wait_closed
from tests.clock import FakeClock
from tests.helpers import ServerProcess, login, make_settings, running_server
from tests.realtime.conftest import StartServers
from tests.sockets import client_frame, close_frame_code, open_raw, server_frames

ROOM = "theme-one"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def parse_server_frames(data: bytes) -> tuple[int, int | None]:
    """(text messages, close code or None) of the complete frames in `data`."""
    messages = 0
    for opcode, payload in server_frames(data):
        if opcode == 0x8:
            return messages, close_frame_code(payload)
        messages += opcode == 0x1
    return messages, None


def read_until_closed(sock: socket.socket) -> tuple[int, int | None]:
    """Read what the server sent: (messages, close code, or None when the TCP was cut)."""
    data = b""
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
            messages, code = parse_server_frames(data)
            if code is not None:
                return messages, code
    except (ConnectionResetError, TimeoutError):
        pass
    return parse_server_frames(data)


# Sends and frames without limits: these tests send faster than any person does.
UNLIMITED = {
    "WERKPLAATS_REDIS_URL": "",
    "WERKPLAATS_SEND_BURST": "1000000",
    "WERKPLAATS_SEND_RATE": "1000000",
    "WERKPLAATS_FRAME_BURST": "1000000",
    "WERKPLAATS_FRAME_RATE": "1000000",
}
# 4 UTF-8 bytes a character: few messages fill the kernel's buffers.
BIG_BODY = "\U0001f600" * 3900


async def stalled_beside_a_reader(
    start_servers: StartServers, open_client: OpenClient, **env: str
) -> tuple[ServerProcess, socket.socket, Client, Client]:
    """A server; a raw subscriber of ROOM that will never read; a sender; a reading watcher."""
    (server,) = await start_servers(1, **UNLIMITED, **env)
    async with httpx.AsyncClient(timeout=10) as http:
        token = await login(http, server.url, "amy")
    sock = await asyncio.to_thread(open_raw, f"ws://127.0.0.1:{server.port}/ws", token)
    sock.sendall(client_frame(json.dumps({"type": "subscribe", "room": ROOM, "since": None})))
    sender = await open_client(server.url, "ann")
    watcher = await open_client(server.url, "mo")
    await watcher.subscribe(ROOM, since=None)
    await asyncio.sleep(0.3)
    return server, sock, sender, watcher


@pytest.mark.soak  # a long form: make soak-tests
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_client_that_never_reads_is_closed_and_memory_stays_bounded(
    backend: str, start_servers: StartServers, open_client: OpenClient
) -> None:
    """A subscriber that stops reading is cut off (1013 or abort); the server stays small."""
    server, sock, sender, watcher = await stalled_beside_a_reader(
        start_servers, open_client, WERKPLAATS_WS_QUEUE_FRAMES="64"
    )
    assert server.proc is not None
    before = rss_kib(server.proc.pid)
    total = 260
    for n in range(total):
        await sender.send(ROOM, f"{n} {BIG_BODY}", timeout=60)
    await watcher.wait_seq(ROOM, total, timeout=30)  # a reading client got everything
    growth = rss_kib(server.proc.pid) - before
    messages, code = await asyncio.to_thread(read_until_closed, sock)
    sock.close()
    assert code in (1013, None), code
    assert messages < total
    assert growth < 40_000, f"server grew {growth} KiB for a client that never reads"
    assert (await watcher.ping())["type"] == "pong"


async def shed_for_lag(http: httpx.AsyncClient, url: str) -> float:
    """The server's count of connections shed (1013) for lag, from its /metrics."""
    text = (await http.get(f"{url}/metrics")).text
    for line in text.splitlines():
        if line.startswith('werkplaats_ws_shed_total{reason="lag"}'):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_stalled_reader_is_shed_for_lag_with_a_bounded_send_buffer(
    backend: str, start_servers: StartServers, open_client: OpenClient
) -> None:
    """With the kernel's send buffer bounded, a subscriber that stops reading soon backs up
    its queue: it is shed with 1013 for lag (and counted), while a reader gets everything."""
    server, sock, sender, watcher = await stalled_beside_a_reader(
        start_servers,
        open_client,
        WERKPLAATS_WS_SEND_BUFFER_BYTES="16384",
        WERKPLAATS_WS_MAX_LAG_SECONDS="0.5",
    )
    # ~16 KB a message: 40 of them are far more than the bounded buffers hold, and far
    # less than the kernel's own sizing on loopback would (megabytes).
    total = 40
    for n in range(total):
        await sender.send(ROOM, f"{n} {BIG_BODY}", timeout=60)
    await watcher.wait_seq(ROOM, total, timeout=30)
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(100):
            if await shed_for_lag(http, server.url) >= 1:
                break
            await asyncio.sleep(0.1)
        assert await shed_for_lag(http, server.url) == 1
    messages, code = await asyncio.to_thread(read_until_closed, sock)
    sock.close()
    assert code in (1013, None), code
    assert messages < total
    assert (await watcher.ping())["type"] == "pong"


async def test_an_idle_connection_is_closed(db_url: str, open_client: OpenClient) -> None:
    """No frame for `ws_idle_seconds`: the server closes the connection (1001)."""
    clock = FakeClock()
    async with running_server(make_settings(db_url, ws_idle_seconds=60), clock=clock) as base:
        ann = await open_client(base, "ann", reconnect=False)
        await clock.advance(59)
        assert (await ann.ping())["type"] == "pong"
        await clock.advance(60)
        await wait_closed(ann)
        assert ann.close_codes == [1001]

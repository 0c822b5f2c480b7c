"""The fault proxy does what it says: latency, black-hole, half-open, cut, heal (loopback echo)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from tests.net.faultproxy import FaultProxy, proxying

pytestmark = pytest.mark.timeout(30)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with proxying("echo", ("127.0.0.1", port)) as p:
            yield p
    finally:
        server.close()
        await server.wait_closed()


async def connect(p: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(*p.listen)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes,
               timeout: float = 2) -> bytes:  # fmt: skip
    writer.write(data)
    async with asyncio.timeout(timeout):
        return await reader.readexactly(len(data))


async def test_black_hole_holds_bytes_without_a_reset_and_heal_delivers_them(
    proxy: FaultProxy,
) -> None:
    reader, writer = await connect(proxy)
    assert await echo(reader, writer, b"a") == b"a"
    proxy.blackhole()
    with pytest.raises(TimeoutError):
        await echo(reader, writer, b"b", timeout=0.3)
    # A new connection is accepted and hangs too: what a vanished host looks like.
    reader2, writer2 = await connect(proxy)
    with pytest.raises(TimeoutError):
        await echo(reader2, writer2, b"c", timeout=0.3)
    proxy.heal()
    async with asyncio.timeout(2):
        assert await reader.readexactly(1) == b"b"  # as TCP's retransmission would
        assert await reader2.readexactly(1) == b"c"
    writer.close()
    writer2.close()


async def test_half_open_holds_one_direction_only(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    proxy.half_open("down")
    with pytest.raises(TimeoutError):
        await echo(reader, writer, b"x", timeout=0.3)  # it went up; the echo is held
    proxy.heal()
    async with asyncio.timeout(2):
        assert await reader.readexactly(1) == b"x"
    writer.close()


async def test_cut_resets_connections_and_refuses_new_ones_until_healed(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    assert await echo(reader, writer, b"a") == b"a"
    proxy.cut()
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await echo(reader, writer, b"b")
    reader, writer = await connect(proxy)
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await echo(reader, writer, b"c")
    proxy.heal()
    reader, writer = await connect(proxy)
    assert await echo(reader, writer, b"d") == b"d"
    writer.close()


async def test_latency_delays_every_chunk_and_keeps_their_order(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    proxy.latency(0.1, 0.05)
    start = time.monotonic()
    for i in range(5):
        writer.write(bytes([65 + i]))
        await asyncio.sleep(0.01)
    async with asyncio.timeout(5):
        assert await reader.readexactly(5) == b"ABCDE"
    # Up and down each waited at least delay - jitter: a lower bound, not a timing assertion.
    assert time.monotonic() - start >= 0.1
    writer.close()

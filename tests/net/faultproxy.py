"""A user-space fault proxy: TCP from one host to another, with the faults a network makes.

The kernel here has no netem, so faults between the application hosts and their database
and Redis are made by this proxy, which sits on the path (`tests/net/topology.py` points
each application host at its own proxies). Each direction of each connection is a pipe
that reads a chunk, waits for its gate and its delay, and writes it on:

- `latency(delay, jitter)`: every chunk waits `delay ± jitter` (order kept, as TCP keeps it);
- `blackhole()`: no byte passes either way and new connections are accepted but get nothing
  (SYNs that vanish would look the same to the application: a connection that hangs). The
  pipes stop reading, so the sender's buffers fill as with a real black-hole; on `heal()`
  what was held is delivered, as TCP's retransmissions would;
- `half_open(direction)`: one direction held ("up" = application to server, "down" = back);
- `cut()`: every connection reset (RST), and new ones too until `heal()`;
- `heal()`: everything flows again, at no added delay.

One limit of doing this in user space: the application's kernel talks TCP to the proxy's,
which answers keepalives and acknowledges data, so TCP keepalive and `TCP_USER_TIMEOUT` on
the application's sockets cannot see these faults: only the application's own timeouts do.
The topology's `isolate()` (a link set down) is the kernel-level black-hole for those.

`ProxyThread` runs the proxies on an event loop of their own, so a test's client load never
delays a forwarded byte, and a test controls them from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 65536


class Direction:
    """What one direction of every connection through a proxy does now."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.delay = 0.0
        self.jitter = 0.0

    def wait_for(self) -> float:
        return max(0.0, self.delay + random.uniform(-self.jitter, self.jitter))


class FaultProxy:
    """`listen` (host, port) forwarding to `target`; faults apply to every connection."""

    def __init__(self, name: str, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.name = name
        self.listen = listen
        self.target = target
        self.up = Direction()  # client (application) to target
        self.down = Direction()  # target back to the client
        self.resetting = False
        self.connections = 0  # accepted so far (tests read it: a hung connection replaced)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.Transport] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, *self.listen)
        self.listen = self._server.sockets[0].getsockname()[:2]  # the port given for 0

    async def stop(self) -> None:
        self._reset_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def through(self, url: str) -> str:
        """`url`, which names the target as `host:port`, going through the proxy instead."""
        target = "{}:{}".format(*self.target)
        if target not in url:
            raise ValueError(f"{url} does not name {target}")
        return url.replace(target, "{}:{}".format(*self.listen[:2]), 1)

    # -- faults ------------------------------------------------------------------------

    def latency(self, delay: float, jitter: float = 0.0) -> None:
        for d in (self.up, self.down):
            d.delay, d.jitter = delay, jitter

    def blackhole(self) -> None:
        self.up.gate.clear()
        self.down.gate.clear()

    def half_open(self, direction: str) -> None:
        """Hold one direction ("up": to the target, "down": back) and let the other flow."""
        (self.up if direction == "up" else self.down).gate.clear()

    def refuse_new(self) -> None:
        """Connections made before keep working; new ones are reset (a pool would still say
        yes)."""
        self.resetting = True

    def cut(self) -> None:
        """Reset every connection and refuse new ones: a restarted or killed peer."""
        self.refuse_new()
        self._reset_all()

    def heal(self) -> None:
        self.resetting = False
        for d in (self.up, self.down):
            d.delay = d.jitter = 0.0
            d.gate.set()

    # -- forwarding --------------------------------------------------------------------

    def _reset_all(self) -> None:
        for transport in list(self._transports):
            transport.abort()  # SO_LINGER 0 is what makes a close an RST: abort() does it
        self._transports.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.resetting:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer.transport, up_writer.transport}
        self._transports.update(pair)  # type: ignore[arg-type]
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, self.up), self._pipe(up_reader, writer, self.down)
            )
        finally:
            for transport in pair:
                self._transports.discard(transport)  # type: ignore[arg-type]
                transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, d: Direction
    ) -> None:
        # Chunks carry the time they may leave; a sender task keeps their order under jitter.
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(64)
        loop = asyncio.get_running_loop()

        async def send() -> None:
            last = 0.0
            while (item := await queue.get()) is not None:
                due, data = item
                last = max(last, due)
                if (pause := last - loop.time()) > 0:
                    await asyncio.sleep(pause)
                await d.gate.wait()
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while True:
                    await d.gate.wait()  # black-holed: stop reading, the sender's buffers fill
                    data = await reader.read(CHUNK)
                    if not data:
                        break
                    await queue.put((loop.time() + d.wait_for(), data))
            await queue.put(None)
            with contextlib.suppress(OSError):
                await sender
        finally:
            sender.cancel()
            writer.transport.abort()


@contextlib.asynccontextmanager
async def proxying(name: str, target: tuple[str, int]) -> AsyncIterator[FaultProxy]:
    """A proxy on a free loopback port to `target`, started on this loop and stopped after."""
    proxy = FaultProxy(name, ("127.0.0.1", 0), target)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


class ProxyThread:
    """An event loop in a thread for the proxies; `call` runs a function on it and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="faults")
        self._thread.start()
        self.proxies: dict[str, FaultProxy] = {}

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(30)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapped() -> T:
            return fn()

        return self.run(wrapped())

    def add(self, name: str, listen: tuple[str, int], target: tuple[str, int]) -> FaultProxy:
        proxy = FaultProxy(name, listen, target)
        self.run(proxy.start())
        self.proxies[name] = proxy
        return proxy

    def stop(self) -> None:
        for proxy in self.proxies.values():
            with contextlib.suppress(Exception):
                self.run(proxy.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

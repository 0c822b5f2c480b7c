"""The fan-out's cost per delivery in-process, beside python-websockets' `broadcast()`.

    .venv/bin/python -m bench.fanout_micro [--subscribers 500] [--events 200] [--only ours|u]

No sockets and no load generator: each subscriber's transport is a stub that keeps the
bytes it is given, so what is measured is the server's own work from a committed event to
`transport.write`, per delivery: for ours the room hub (`chat.hub`), the outbound queue
and its per-turn flush (`chat.outbound`) and the direct writer of `web.internals`; for U
(`websockets.asyncio.server.broadcast` over `ServerConnection`s in the OPEN state) the
frame built and written per connection. Both encode the event once per message (msgspec
for ours, orjson's cost is left out of U as it is smaller). CPU time is
`time.process_time` per delivery, best of `--repeats`: the machine's other work shows
less in CPU time than in wall time. For instruction counts, which do not move with the
load, run it under `valgrind --tool=callgrind` with `--events` E and 2E and take the
difference (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from types import SimpleNamespace
from typing import Any

from chat import frames
from chat.hub import RoomHub, Subscription
from chat.outbound import Outbound
from persistence.authors import AuthorRow
from persistence.events import StoredEvent


class StubTransport:
    """What a transport does for a writer that never pauses: counts the bytes."""

    __slots__ = ("written",)

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


def _event(seq: int) -> StoredEvent:
    return StoredEvent(
        seq,
        "message",
        seq,
        {},
        True,
        f"bericht {seq} over de bodemdaling in het veenweidegebied",
        created_at=dt.datetime.now(dt.UTC).isoformat(),
        client_id=f"c-{seq}",
        author=AuthorRow("b00001", "Deelnemer 00001", "Gemeente Benchmark", "gemeente"),
    )


def ours_setup(n: int) -> tuple[RoomHub, list[StubTransport]]:
    from web import internals

    async def nothing(*_: Any) -> Any:
        return []

    hub = RoomHub("r", nothing, nothing)  # type: ignore[arg-type]
    hub.last = 0
    transports = []
    for _ in range(n):
        t = StubTransport()
        proto = SimpleNamespace(
            writable=asyncio.Event(),
            close_sent=False,
            disconnected=False,
            conn=SimpleNamespace(state=internals.WS_OPEN, extensions=[]),
            transport=t,
            handshake_complete=False,
            queue=None,
        )
        proto.writable.set()
        writer = internals.SansIODirect(proto)  # type: ignore[arg-type]
        sock = SimpleNamespace(direct=lambda w=writer: w)
        out = Outbound(sock)  # type: ignore[arg-type]
        conn = SimpleNamespace(outbound=out, overflow=lambda: None, username="x", id=id(out))
        out.start()
        sub = Subscription(conn, "r")  # type: ignore[arg-type]
        sub.go_live(0)
        hub.attach(sub)
        transports.append(t)
    return hub, transports


async def ours_run(hub: RoomHub, first: int, events: int) -> None:
    for seq in range(first, first + events):
        text = frames.encode(frames.event_frame("r", _event(seq)))
        hub.receive(seq, text)
        await asyncio.sleep(0)  # the turn ends: the flush writes
        await asyncio.sleep(0)


def u_setup(n: int) -> tuple[list[Any], list[StubTransport]]:
    from websockets.asyncio.server import ServerConnection
    from websockets.protocol import OPEN
    from websockets.server import ServerProtocol

    conns, transports = [], []
    for _ in range(n):
        proto = ServerProtocol(state=OPEN)
        conn = ServerConnection(proto, SimpleNamespace(), ping_interval=None)  # type: ignore[arg-type]
        t = StubTransport()
        conn.transport = t  # type: ignore[assignment]
        conns.append(conn)
        transports.append(t)
    return conns, transports


async def u_run(conns: list[Any], first: int, events: int) -> None:
    from websockets.asyncio.server import broadcast

    for seq in range(first, first + events):
        text = frames.encode(frames.event_frame("r", _event(seq)))
        broadcast(conns, text)
        await asyncio.sleep(0)
        await asyncio.sleep(0)


async def measure(kind: str, n: int, events: int, repeats: int) -> float:
    """Best CPU microseconds per delivery over `repeats` runs of `events` events."""
    if kind == "ours":
        hub, _ = ours_setup(n)
        runner: Any = lambda first: ours_run(hub, first, events)  # noqa: E731
    else:
        conns, _ = u_setup(n)
        runner = lambda first: u_run(conns, first, events)  # noqa: E731
    best = float("inf")
    first = 1
    await runner(first)  # warm up
    first += events
    for _ in range(repeats):
        t0 = time.process_time()
        await runner(first)
        best = min(best, time.process_time() - t0)
        first += events
    return best * 1e6 / (n * events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["ours", "u"])
    args = parser.parse_args()
    import uvloop

    for kind in [args.only] if args.only else ["ours", "u"]:
        got = uvloop.run(measure(kind, args.subscribers, args.events, args.repeats))
        print(f"{kind}: {got:.2f} µs of CPU per delivery ({args.subscribers} subscribers)")


if __name__ == "__main__":
    main()

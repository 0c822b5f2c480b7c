"""What an idle `/ws` connection holds: tracemalloc in a server running in this process.

    .venv/bin/python -m bench.idle_memory [--connections 2000] [--top 25]

The server (the app `werkplaats serve` runs, on a fresh SQLite file) runs in this
process with tracemalloc on; the load generator (bench/loadgen, its `idle` mode) opens
the connections from another process, each subscribed to one room, and holds them. The
snapshot taken while they are open, less the one before, grouped by the line that
allocated, divided by the connections open, is what each one holds in Python objects
(the allocator's own overhead and the kernel's socket buffers come on top: W6 measures
the RSS).

`--rss` leaves tracemalloc off (its own bookkeeping would inflate the figure) and reports
the process's resident memory per connection instead, as W6 does, then again after a
full collection and after glibc's `malloc_trim`: what the allocators hold beyond the
objects themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from bench import servers as sv


def rss_kib() -> int:
    """This process's resident memory (VmRSS), KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def malloc_trim() -> None:
    """glibc's `malloc_trim(0)`: free pages inside its heaps go back to the system."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def collect_garbage() -> Counter[str]:
    """A full collection; the types of what it freed (cycles that were garbage already)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    found = Counter(type(o).__qualname__ for o in gc.garbage)
    gc.garbage.clear()
    gc.set_debug(0)
    gc.collect()
    return found


def live_subscriptions(realtime: Any) -> int:
    """The subscriptions past their backlog, over every room of `realtime`."""
    return sum(1 for hub in realtime.hubs.values() for sub in hub.subs.values() if not sub.loading)


async def probe(connections: int, top: int, rss: bool = False) -> None:
    work = Path(tempfile.mkdtemp(prefix="wp-idle-"))
    env = sv.our_env(f"sqlite+aiosqlite:///{work}/idle.db", None, "idle")
    toml = work / "community.toml"
    users = min(connections, 500)
    toml.write_text(sv.community_toml(users, 50))
    sv.load_community(env, toml, work / "load.log")
    os.environ.update(env)

    import uvicorn

    from web.app import app_from_env

    app = app_from_env()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        ws_per_message_deflate=False,
        # As `werkplaats serve` runs it (no proxies trusted, web/cli.py).
        proxy_headers=False,
        server_header=False,
        http="web.guard:GuardedHttpToolsProtocol",
        ws="web.wsclose:ClosingSansIOProtocol",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    addr = f"127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    tokens = await sv.login_all([addr], users)
    receivers = [
        {
            "url": f"ws://{addr}/ws",
            "rooms": [f"bench-{u % 10:02d}"],
            "id": u,
            "token": tokens[u % users],
        }
        for u in range(connections)
    ]
    cfg = {
        "mode": "idle",
        "proto": "wp",
        "server_pids": [os.getpid()],
        "receivers": receivers,
        "concurrency": 100,
        "settle_ms": 8000,
        "time_limit_s": 300,
    }
    gc.collect()
    if rss:
        # What glibc holds free from the start-up is not the connections': given back first.
        malloc_trim()
    rss0 = rss_kib()
    if not rss:
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
    gen = asyncio.create_task(sv.loadgen(cfg, work, "idle"))
    # Snapshot while the generator holds them (its settle time), once all are in and
    # subscribed (on a loaded machine the last subscribes come seconds after the upgrades).
    realtime = None
    while not gen.done():
        await asyncio.sleep(0.5)
        realtime = app.state.services.realtime
        if realtime is not None and live_subscriptions(realtime) >= connections:
            await asyncio.sleep(1)
            break
    open_now = len(realtime.connections) if realtime is not None else connections
    if rss:
        figures = [rss_kib()]
        garbage = collect_garbage()
        figures.append(rss_kib())
        malloc_trim()
        figures.append(rss_kib())
        got = await gen
        print(f"{open_now} connections open; generator: {json.dumps(got)[:300]}")
        for label, kib in zip(("RSS", "after gc", "after malloc_trim"), figures, strict=True):
            print(f"{label}: {(kib - rss0) / open_now:.2f} KiB per connection")
        print("cyclic garbage a full collection found, per connection:")
        for name, count in garbage.most_common(top):
            print(f"{count / open_now:9.2f}  {name}")
        server.should_exit = True
        await task
        return
    gc.collect()
    after = tracemalloc.take_snapshot()
    got = await gen
    tracemalloc.stop()
    stats = after.compare_to(before, "lineno")
    total = sum(s.size_diff for s in stats)
    print(f"{open_now} connections open; generator: {json.dumps(got)[:300]}")
    print(f"Python objects: {total / open_now / 1024:.2f} KiB per connection")
    for s in stats[:top]:
        frame = s.traceback[0]
        print(
            f"{s.size_diff / open_now:9.0f} B {s.count_diff / open_now:6.2f} objs  "
            f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
        )
    server.should_exit = True
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rss", action="store_true", help="resident memory, no tracemalloc")
    args = parser.parse_args()
    import uvloop

    uvloop.run(probe(args.connections, args.top, args.rss))


if __name__ == "__main__":
    main()

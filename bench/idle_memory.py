"""What an idle `/ws` connection holds: tracemalloc in a server running in this process.

    .venv/bin/python -m bench.idle_memory [--connections 2000] [--top 25]

The server (the app `werkplaats serve` runs, on a fresh SQLite file) runs in this
process with tracemalloc on; the load generator (bench/loadgen, its `idle` mode) opens
the connections from another process, each subscribed to one room, and holds them. The
snapshot taken while they are open, less the one before, grouped by the line that
allocated, divided by the connections open, is what each one holds in Python objects
(the allocator's own overhead and the kernel's socket buffers come on top: W6 measures
the RSS).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import tracemalloc
from pathlib import Path

from bench import servers as sv


async def probe(connections: int, top: int) -> None:
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
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    gen = asyncio.create_task(sv.loadgen(cfg, work, "idle"))
    # Snapshot while the generator holds them (its settle time), once all are in.
    realtime = None
    while not gen.done():
        await asyncio.sleep(0.5)
        realtime = app.state.services.realtime
        if realtime is not None and len(realtime.connections) >= connections:
            await asyncio.sleep(2)
            break
    open_now = len(realtime.connections) if realtime is not None else connections
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
    args = parser.parse_args()
    import uvloop

    uvloop.run(probe(args.connections, args.top))


if __name__ == "__main__":
    main()

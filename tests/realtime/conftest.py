"""Fixtures of the real-time tests: logged-in `chat.client.Client`s against real servers."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import ServerProcess, free_port, require, servers_env


@pytest.fixture
def cluster_env(db_url: str, redis_url: str, redis_prefix: str, tmp_path: Path) -> dict[str, str]:
    """The environment of `werkplaats serve` processes sharing this test's database and Redis."""
    return servers_env(db_url, redis_url, redis_prefix, tmp_path)


StartServers = Callable[..., Awaitable[list[ServerProcess]]]


@pytest.fixture
async def start_servers(cluster_env: dict[str, str]) -> AsyncIterator[StartServers]:
    """A factory: `await start_servers(2)` runs that many `werkplaats serve` processes."""
    started: list[ServerProcess] = []

    async def start(count: int, **env: str) -> list[ServerProcess]:
        procs = [ServerProcess({**cluster_env, **env}) for _ in range(count)]
        for proc in procs:
            proc.start()
            started.append(proc)
        await asyncio.gather(*(asyncio.to_thread(p.wait_ready, 60) for p in procs))
        return procs

    yield start
    await asyncio.gather(*(asyncio.to_thread(p.stop, 15) for p in started))


class RedisServer:
    """A redis-server of the test's own on a spare port, to stop and start at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        require("redis-server", False, "the binary is needed to restart Redis mid-test")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()

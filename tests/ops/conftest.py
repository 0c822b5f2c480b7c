"""Fixtures of the operations tests: `werkplaats serve --workers 2` and its log."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    REDIS_URL,
    ServerProcess,
    Templates,
    redis_up,
    require,
)

# One `key=value` or `key="quoted value"` pair of a log line (web/logs.py KeyValueFormatter).
PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^ "]*)')
Line = dict[str, Any]


def parse_kv(line: str) -> Line:
    """The fields of one key=value line; fails the test when the line is not one."""
    pairs = PAIR.findall(line)
    rebuilt = " ".join(f"{k}={v}" for k, v in pairs)
    assert rebuilt == line, f"not a key=value line: {line!r}"
    return {k: v[1:-1].replace('\\"', '"') if v.startswith('"') else v for k, v in pairs}


def log_lines(server: ServerProcess, fmt: str = "kv") -> list[Line]:
    """Every line the server wrote so far, parsed."""
    text = server.log.read_text(encoding="utf-8")
    parse = json.loads if fmt == "json" else parse_kv
    return [parse(line) for line in text.splitlines() if line]


def wait_lines(
    server: ServerProcess,
    wanted: Callable[[Line], bool],
    count: int = 1,
    timeout: float = 20,
    fmt: str = "kv",
) -> list[Line]:
    """The parsed lines that `wanted` accepts, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in log_lines(server, fmt) if wanted(line)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def serve_env(db_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a two-worker server with INFO logs on this test's own Redis prefix."""
    require("Redis", redis_up(), "127.0.0.1:6379")
    return {
        "WERKPLAATS_DATABASE_URL": db_url,
        "WERKPLAATS_REDIS_URL": REDIS_URL,
        "WERKPLAATS_REDIS_PREFIX": f"wpops{uuid.uuid4().hex[:8]}",
        "WERKPLAATS_TEST_LOG_DIR": str(workdir),
        "WERKPLAATS_LOG_LEVEL": "INFO",
        **extra,
    }


def start(env: dict[str, str], workers: int = 2) -> ServerProcess:
    server = ServerProcess(env, workers=workers)
    server.start()
    try:
        # Workers import everything before they answer: slow on a loaded machine.
        server.wait_ready(120)
        # `wait_ready` sees the first worker; the others may still be importing.
        started = wait_lines(
            server,
            lambda x: x["msg"] == "Application startup complete.",
            workers,
            120,
            env.get("WERKPLAATS_LOG_FORMAT", "kv"),
        )
        assert len(started) == workers, f"{len(started)} of {workers} workers started"
    except BaseException:
        server.stop()
        raise
    return server


def module_server(
    templates: Templates, tmp_path_factory: pytest.TempPathFactory, **extra: str
) -> Iterator[ServerProcess]:
    """A two-worker server on a fresh SQLite copy, for one test module."""
    workdir = tmp_path_factory.mktemp("ops")
    url = asyncio.run(templates.sqlite(workdir / "ops.db"))
    server = start(serve_env(url, workdir, **extra))
    yield server
    server.stop()

"""The short chaos run (bench/chaos.py --short) as a test: every invariant holds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.chaos import SHORT, run, table
from tests.helpers import postgres_up, require


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(150)
async def test_short_chaos_run_holds_every_invariant(tmp_path: Path) -> None:
    """3 servers, 12 clients, kill -9, SIGTERM, Redis restart and pause: nothing lost."""
    require("PostgreSQL", postgres_up(), "127.0.0.1:5432")
    require("redis-server", shutil.which("redis-server") is not None, "a private Redis")
    report = await run(SHORT, tmp_path)
    print(table(report))
    failed = {k: v for k, v in report["invariants"].items() if not v["held"]}
    assert not failed, table(report)
    assert len(report["faults"]) == len(SHORT.faults)

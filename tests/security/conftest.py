"""Fixtures of the security tests: a real `werkplaats serve` on its own seeded SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ServerProcess, Templates


def serve_env(templates: Templates, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a server on a fresh SQLite file in `workdir`, seeded with the
    community: a copy of the session's seeded template (what `werkplaats load` would write)."""
    url = asyncio.run(templates.sqlite(workdir / "werkplaats.db"))
    return {
        "WERKPLAATS_DATABASE_URL": url,
        "WERKPLAATS_SECRET_KEY": "security-tests-secret-key",
        "WERKPLAATS_TEST_LOG_DIR": str(workdir),
        "WERKPLAATS_LOG_LEVEL": "INFO",
        "WERKPLAATS_REDIS_URL": "",
        **extra,
    }


# The request deadlines of the shared server (web/guard.py), short for the slow-loris tests.
HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0


@pytest.fixture(scope="session")
def served(
    templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One `werkplaats serve` process shared by the security tests (log in its workdir).

    Login throttling is set out of reach here (the fuzzer logs in often, from one address);
    tests/security/test_login.py has servers of its own with the defaults.
    """
    workdir = tmp_path_factory.mktemp("served")
    env = serve_env(
        templates,
        workdir,
        WERKPLAATS_LOGIN_MAX_FAILURES="1000",
        WERKPLAATS_LOGIN_ADDRESS_MAX_FAILURES="1000000",
        WERKPLAATS_LOGIN_USER_FREE_FAILURES="1000000",
        WERKPLAATS_HEAD_TIMEOUT_SECONDS=str(HEAD_TIMEOUT),
        WERKPLAATS_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
    )
    proc = ServerProcess(env)
    proc.start()
    try:
        proc.wait_ready(60)
        yield proc
    finally:
        proc.stop()

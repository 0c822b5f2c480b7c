"""A request whose database does not answer in time is told to come back, not `internal`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from persistence.db import Database
from tests.helpers import Templates, login, make_settings, running_server

pytestmark = pytest.mark.timeout(30)
ROOM = "theme-one"


async def test_a_database_that_does_not_answer_gives_503_with_retry_after(
    templates: Templates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in a rolling upgrade, when a new connection passed its connect timeout while every
    client reconnected to one host: 503 `unavailable` with Retry-After (clients retry it);
    it was 500 `internal`. The next request, with the database back, is answered."""
    url = await templates.sqlite(tmp_path / "test.db")
    async with running_server(make_settings(url)) as base, httpx.AsyncClient() as http:
        token = await login(http, base, "ann")
        headers = {"Authorization": f"Bearer {token}"}
        events = f"{base}/api/rooms/{ROOM}/events"
        assert (await http.get(events, headers=headers)).status_code == 200
        with monkeypatch.context() as patch:

            @asynccontextmanager
            async def no_answer(self: Database) -> AsyncIterator[None]:
                raise TimeoutError  # what asyncpg's connect raises past its timeout
                yield

            patch.setattr(Database, "read", no_answer)
            patch.setattr(Database, "write", no_answer)
            r = await http.get(events, headers=headers)
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "unavailable"
            assert int(r.headers["Retry-After"]) >= 1
            refused = await http.get(f"{base}/api/rooms/{ROOM}/events", headers=headers)
            assert refused.status_code == 503
        assert (await http.get(events, headers=headers)).status_code == 200

"""Admission at the upgrade: too many set-ups at once are refused with 503 and Retry-After."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import msgspec
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response

from chat.client import _retry_after
from tests.helpers import bearer, login, running_server, ws_url
from web import ws
from web.settings import Settings, load_settings

BURST = 40
ROUNDS = 10


async def _upgrade(base: str, token: str) -> tuple[int, Headers, bytes]:
    """The upgrade's status (101 once `hello` arrived), and a refusal's headers and body."""
    try:
        async with connect(ws_url(base), additional_headers=bearer(token), open_timeout=30) as ws:
            hello = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
            assert hello["type"] == "hello"
            return 101, Headers(), b""
    except InvalidStatus as refused:
        response = refused.response
        return response.status_code, response.headers, bytes(response.body or b"")


@pytest.fixture
def slow_set_ups(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's set-up reads run on the event loop without a pause, so set-ups would not
    overlap in these tests: each one waits a little, as on PostgreSQL or a busy disk."""
    arrive = ws.authenticate_arrival

    async def slow_arrival(*args: Any) -> Any:
        await asyncio.sleep(0.01)
        return await arrive(*args)

    monkeypatch.setattr(ws, "authenticate_arrival", slow_arrival)


@pytest.mark.usefixtures("slow_set_ups")
async def test_a_saturated_set_up_limit_answers_503_with_retry_after(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """With room for one set-up, a burst of upgrades gets 101 or 503, never anything else;
    the 503 says when to come back, and coming back then works."""
    async with running_server(msgspec.structs.replace(settings, ws_setups=1)) as base:
        token = await login(client, base, "ann")
        refusals: list[tuple[Headers, bytes]] = []
        for _ in range(ROUNDS):
            got = await asyncio.gather(*(_upgrade(base, token) for _ in range(BURST)))
            assert {status for status, _, _ in got} <= {101, 503}
            assert any(status == 101 for status, _, _ in got)
            refusals = [(headers, body) for status, headers, body in got if status == 503]
            if refusals:
                break
        assert refusals, "no upgrade was refused with the set-up limit at 1"
        headers, body = refusals[0]
        assert int(headers["Retry-After"]) >= 1
        assert headers["Content-Type"].startswith("application/json")
        assert orjson.loads(body)["error"]["code"] == "unavailable"
        # Coming back one at a time (as Retry-After asks) is set up.
        for _ in range(3):
            status, _, _ = await _upgrade(base, token)
            assert status == 101


async def test_a_burst_of_upgrades_within_the_limit_is_set_up_in_full(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """More concurrent upgrades than set-ups run at once (and than the database pool has
    connections): they wait their turn, none is refused or fails."""
    # One user's burst: above the sockets one user may hold (tests/realtime/test_socket_limits.py).
    many = msgspec.structs.replace(settings, ws_max_per_user=10 * BURST)
    async with running_server(many) as server:
        token = await login(client, server, "amy")
        got = await asyncio.gather(*(_upgrade(server, token) for _ in range(3 * BURST)))
        assert [status for status, _, _ in got] == [101] * (3 * BURST)


def test_the_set_up_limit_is_a_setting() -> None:
    assert load_settings({}).ws_setups == 1000
    assert load_settings({"WERKPLAATS_WS_SETUPS": "5"}).ws_setups == 5


class _Errors(logging.Handler):
    """The records logged at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.usefixtures("slow_set_ups")
async def test_refused_upgrades_log_no_error(settings: Settings, client: httpx.AsyncClient) -> None:
    """401, 403 and 503 at the upgrade are answers, not server errors: nothing at ERROR
    (uvicorn's sans-I/O protocol logged one for each refusal before 0.55)."""
    handler = _Errors()
    errors = handler.records
    async with running_server(msgspec.structs.replace(settings, ws_setups=1)) as base:
        # Added once uvicorn has configured its loggers (which drops handlers added before).
        logging.getLogger("uvicorn.error").addHandler(handler)
        try:
            token = await login(client, base, "ann")
            assert (await _upgrade(base, "not-a-token"))[0] == 401
            try:
                async with connect(
                    ws_url(base), additional_headers={"Origin": "https://elders.example"}
                ):
                    raise AssertionError("an unknown Origin was let in")
            except InvalidStatus as refused:
                assert refused.response.status_code == 403
            statuses: set[int] = set()
            for _ in range(ROUNDS):
                got = await asyncio.gather(*(_upgrade(base, token) for _ in range(BURST)))
                statuses |= {status for status, _, _ in got}
                if 503 in statuses:
                    break
            assert 503 in statuses
        finally:
            logging.getLogger("uvicorn.error").removeHandler(handler)
    assert not errors, [r.getMessage() for r in errors]


def test_the_python_client_waits_as_long_as_retry_after_says() -> None:
    """`chat.client` comes back after a 503's `Retry-After` (capped), else backs off."""

    def refused(headers: dict[str, str]) -> InvalidStatus:
        return InvalidStatus(Response(503, "Service Unavailable", Headers(headers), b""))

    assert _retry_after(refused({"Retry-After": "3"})) == 3.0
    assert _retry_after(refused({"Retry-After": "3600"})) == 60.0
    assert _retry_after(refused({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) is None
    assert _retry_after(refused({})) is None

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
from web import admission, guard, internals, ws
from web.guard import GuardedHttpToolsProtocol
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


class Guard(GuardedHttpToolsProtocol):
    """The server's HTTP protocol (`werkplaats serve`), with its deadlines given."""

    head_timeout = body_timeout = upload_idle = 30.0


async def test_the_servers_protocol_refuses_over_the_gate_before_the_handshake(
    settings: Settings, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `werkplaats serve`'s HTTP protocol an upgrade that the gate would refuse at once
    is answered before its WebSocket handshake is parsed: the same 503, `Retry-After` and
    body as the app's own refusal. The set-up that holds the gate is not disturbed, and
    coming back afterwards works."""
    early: list[bytes] = []
    real = guard.refusal_now

    def counted(*args: Any) -> bytes | None:
        answer = real(*args)
        if answer is not None:
            early.append(answer)
        return answer

    held, release = asyncio.Event(), asyncio.Event()
    arrive = ws.authenticate_arrival

    async def held_arrival(*args: Any) -> Any:
        held.set()
        await release.wait()
        return await arrive(*args)

    monkeypatch.setattr(guard, "refusal_now", counted)
    monkeypatch.setattr(ws, "authenticate_arrival", held_arrival)
    async with running_server(msgspec.structs.replace(settings, ws_setups=1), http=Guard) as base:
        token = await login(client, base, "ann")
        first = asyncio.create_task(_upgrade(base, token))
        await held.wait()  # the gate's one slot is taken, and no one may wait
        got = await asyncio.gather(*(_upgrade(base, token) for _ in range(5)))
        assert [status for status, _, _ in got] == [503] * 5
        assert len(early) == 5 and all(a.startswith(b"HTTP/1.1 503 ") for a in early)
        for _, headers, body in got:
            assert int(headers["Retry-After"]) >= 1
            assert headers["Content-Type"] == "application/json"
            error = orjson.loads(body)["error"]
            assert error == {"code": "unavailable", "message": ws.SETUP_REFUSED_MESSAGE}
        release.set()
        assert (await first)[0] == 101
        assert (await _upgrade(base, token))[0] == 101


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


async def test_an_upgrade_whose_client_left_while_it_waited_is_not_set_up(
    settings: Settings, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that gives up while its upgrade waits for a set-up slot (a herd's clients
    time out and come back) costs no set-up when its turn comes."""
    monkeypatch.setattr(admission, "SETUPS_IN_FLIGHT", 1)
    arrive = ws.authenticate_arrival
    held = asyncio.Event()
    release = asyncio.Event()
    set_up: list[str] = []

    async def held_arrival(websocket: Any, *args: Any) -> Any:
        set_up.append(websocket.headers.get("x-who", ""))
        held.set()
        await release.wait()
        return await arrive(websocket, *args)

    monkeypatch.setattr(ws, "authenticate_arrival", held_arrival)
    # The upgrades that reached the set-up gate (nothing is awaited before it), and ended.
    waiting: list[Any] = []
    served: list[None] = []
    open_ = ws._open

    async def counted_open(websocket: Any, *args: Any) -> Any:
        waiting.append(websocket)
        try:
            return await open_(websocket, *args)
        finally:
            served.append(None)

    monkeypatch.setattr(ws, "_open", counted_open)
    async with running_server(msgspec.structs.replace(settings, ws_setups=2)) as base:
        token = await login(client, base, "ann")
        first = asyncio.create_task(_upgrade_as(base, token, "first"))
        await asyncio.wait_for(held.wait(), 30)
        # The second upgrade waits behind the first; its client sends its request and leaves.
        host, port = base.removeprefix("http://").split(":")
        _reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n"
                "X-Who: second\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        async with asyncio.timeout(30):
            while len(waiting) < 2:
                await asyncio.sleep(0.01)
        writer.close()
        await writer.wait_closed()
        async with asyncio.timeout(30):
            while not internals.client_gone(waiting[1]):
                await asyncio.sleep(0.01)
        release.set()
        assert await asyncio.wait_for(first, 30) == 101
        async with asyncio.timeout(30):
            while len(served) < 2:
                await asyncio.sleep(0.01)
        assert set_up == ["first"]


async def _upgrade_as(base: str, token: str, who: str) -> int:
    """An upgrade that closes once `hello` arrived: 101, else the refusal's status."""
    headers = {**bearer(token), "X-Who": who}
    try:
        async with connect(ws_url(base), additional_headers=headers, open_timeout=30) as sock:
            hello = orjson.loads(await asyncio.wait_for(sock.recv(), 30))
            assert hello["type"] == "hello"
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def test_retry_after_is_at_most_the_longest_wait() -> None:
    """A refused client is never told to wait longer than the gate lets anyone wait: by
    then everyone in line now has been let in or refused."""
    gate = admission.AdmissionGate(64, 1000, admission.SETUP_MAX_WAIT, 5.0)
    gate.waiting = 936
    assert gate.retry_after() == admission.SETUP_MAX_WAIT
    gate.mean_s = 0.001
    assert gate.retry_after() == 1.0

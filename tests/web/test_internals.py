"""`web.internals`: each reliance on uvicorn's internals, against the installed versions and
through a real server; an upgrade that changes one of them fails here, loudly."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import inspect
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import DirectWrites, Templates, login, make_settings, running_server, ws_url
from web import internals, wsclose
from web.guard import GuardedHttpToolsProtocol
from web.internals import HttpToolsProtocol, InternalsChanged

LIMIT = 64 * 1024  # the default WERKPLAATS_MAX_FRAME_BYTES


class QuickGuard(GuardedHttpToolsProtocol):
    """The guard with deadlines short enough for a test."""

    head_timeout = 0.5
    body_timeout = 0.5


@pytest.fixture
async def sqlite_url(templates: Templates, tmp_path: Path) -> str:
    # The protocol's internals do not depend on the database: one is enough.
    return await templates.sqlite(tmp_path / "test.db")


@pytest.fixture
async def base(sqlite_url: str) -> AsyncIterator[str]:
    async with running_server(make_settings(sqlite_url), http=QuickGuard) as url:
        yield url


@pytest.fixture
async def token(base: str) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        return await login(http, base, "ann")


def open_ws(base: str, token: str, **options: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    return connect(ws_url(base), additional_headers=headers, open_timeout=10, **options)


async def frame(ws: ClientConnection, wanted: str) -> dict[str, Any]:
    """The next frame of type `wanted` (frames may come several to a message)."""
    async with asyncio.timeout(10):
        while True:
            for line in str(await ws.recv()).split("\n"):
                if line.strip() and (got := json.loads(line))["type"] == wanted:
                    return dict(got)


class Errors(logging.Handler):
    """The records logged at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[WebSocket, Any]]:
    """Each WebSocket the server set up, with the direct writer it was given."""
    seen: list[tuple[WebSocket, Any]] = []
    original = internals.direct_writer

    def spy(websocket: WebSocket) -> Any:
        writer = original(websocket)
        seen.append((websocket, writer))
        return writer

    monkeypatch.setattr(internals, "direct_writer", spy)
    return seen


# -- the checks --------------------------------------------------------------------------


def test_the_installed_versions_pass_the_version_check() -> None:
    """What the lock installs is the checked release or a later patch of it."""
    for name in internals.CHECKED:
        internals.check_version(name, importlib.metadata.version(name))


def test_the_installed_uvicorn_passes_the_check() -> None:
    """Everything relied on is in the installed uvicorn (as the import already checked)."""
    internals.check()


def test_an_uvicorn_of_another_release_is_refused_by_name() -> None:
    """A minor release not checked, or an older one, is refused, naming it."""
    internals.check_version("uvicorn", "0.55.4")
    for other in ("0.56.0", "0.56.0rc1", "0.54.9", "1.0.0"):
        with pytest.raises(InternalsChanged, match=f"uvicorn {re.escape(other)} is not"):
            internals.check_version("uvicorn", other)


def test_a_method_that_no_longer_uses_an_attribute_is_named() -> None:
    """A method that stopped using relied-on state fails the check, naming both."""

    class Changed:
        def __init__(self) -> None:
            self.conn = None

    with pytest.raises(InternalsChanged, match=r"uvicorn 9\.9\.9: Changed.__init__ .*close_sent"):
        internals.check_uses(Changed, "__init__", ("conn", "close_sent"), "9.9.9")
    with pytest.raises(InternalsChanged, match=r"Changed.handle_connect is gone"):
        internals.check_uses(Changed, "handle_connect", (), "9.9.9")


def test_a_name_of_ours_that_uvicorn_also_has_is_refused() -> None:
    """A subclass attribute that uvicorn's base uses too would share its state: refused."""

    class Clashing(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._unset_keepalive_if_required = None

    with pytest.raises(InternalsChanged, match="_unset_keepalive_if_required"):
        internals.check_subclass(Clashing)
    internals.check_subclass(GuardedHttpToolsProtocol)
    internals.check_subclass(wsclose.ClosingSansIOProtocol)


def test_uvicorn_asks_of_its_queue_only_what_inbox_has() -> None:
    """`Inbox` replaces uvicorn's receive queue: uvicorn may call only what it offers."""
    source = inspect.getsource(WebSocketsSansIOProtocol)
    called = set(re.findall(r"self\.queue\.(\w+)", source))
    assert called and called <= {"put_nowait", "get", "empty"}
    assert all(callable(getattr(internals.Inbox, name)) for name in called)
    assert not re.search(r"self\.queue(?!\.(put_nowait|get|empty)\b)[^\s=:]", source)


# -- through a real server ---------------------------------------------------------------


async def test_a_real_connection_is_written_directly_to_uvicorns_transport(
    base: str, token: str, made: list[tuple[WebSocket, Any]], direct_writes: DirectWrites
) -> None:
    """The server's connection gets the direct writer and its frames go out by it; its
    queue became an `Inbox` that still delivers the client's frames; the handshake's
    request and response were dropped."""
    async with open_ws(base, token) as ws:
        assert (await frame(ws, "hello"))["type"] == "hello"
        await ws.send(json.dumps({"type": "ping", "ref": "r1"}))
        assert (await frame(ws, "pong")).get("ref") == "r1"
        [(_, writer)] = made
        assert isinstance(writer, internals.SansIODirect)
        proto = writer.proto
        assert isinstance(proto, wsclose.ClosingSansIOProtocol)
        assert isinstance(proto.queue, internals.Inbox)
        assert proto.request is None and proto.response is None
        assert writer.ready()
    assert direct_writes.count >= 2  # `hello` and `pong`


async def test_abort_drops_the_connection_without_a_close_frame(
    base: str, token: str, made: list[tuple[WebSocket, Any]]
) -> None:
    """`abort` drops the TCP connection: the client gets no close frame (1006)."""
    async with open_ws(base, token) as ws:
        await frame(ws, "hello")
        [(websocket, _)] = made
        internals.abort(websocket)
        with pytest.raises(ConnectionClosed) as closed:
            await frame(ws, "never")
        assert closed.value.rcvd is None


async def test_a_refused_upgrade_logs_no_error(base: str) -> None:
    """401 and 403 at the upgrade are answers: uvicorn counts the denial as the end of the
    handshake and logs nothing at ERROR (before 0.55 it logged one for each)."""
    handler = Errors()
    # Added now that uvicorn has configured its loggers (which drops earlier handlers).
    logging.getLogger("uvicorn.error").addHandler(handler)
    try:
        with pytest.raises(InvalidStatus) as refused:
            async with open_ws(base, "not-a-token"):
                pass
        assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as refused:
            async with open_ws(base, "x", origin="https://elders.example"):
                pass
        assert refused.value.response.status_code == 403
        # The server's task logs (or not) right after writing the answer; let it finish.
        await asyncio.sleep(0.2)
    finally:
        logging.getLogger("uvicorn.error").removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records]


async def test_an_oversized_message_is_failed_with_its_close_code(
    base: str, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message over the limit is failed by `fail_without_reset`: the client reads 1009,
    not a reset."""
    failed = 0
    original = wsclose.fail_without_reset

    def counting(proto: Any) -> None:
        nonlocal failed
        failed += 1
        original(proto)

    monkeypatch.setattr(wsclose, "fail_without_reset", counting)
    async with open_ws(base, token, max_size=None) as ws:
        await frame(ws, "hello")
        with contextlib.suppress(ConnectionClosed):
            await ws.send("x" * (4 * LIMIT))
        with pytest.raises(ConnectionClosed):
            await frame(ws, "never")
        assert ws.close_code == 1009
    assert failed == 1


async def raw_exchange(base: str, sent: bytes) -> bytes:
    """Send `sent` on a plain TCP connection to the server; all it answers until it closes."""
    port = int(base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(sent)
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


async def test_the_guard_closes_a_connection_whose_head_is_late(base: str) -> None:
    """A connection that sends part of a request head is closed at the head deadline."""
    assert await raw_exchange(base, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n") == b""


async def test_the_guard_closes_a_connection_whose_body_is_late(base: str) -> None:
    """A request whose body stops short is closed at the body deadline."""
    sent = (
        b"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    assert await raw_exchange(base, sent) == b""


async def test_the_guard_lets_an_upgraded_connection_outlive_the_head_deadline(
    base: str, token: str
) -> None:
    """Once upgraded, a WebSocket is no longer under the HTTP deadlines."""
    async with open_ws(base, token) as ws:
        await frame(ws, "hello")
        await asyncio.sleep(QuickGuard.head_timeout * 3)
        await ws.send(json.dumps({"type": "ping", "ref": "later"}))
        assert (await frame(ws, "pong")).get("ref") == "later"


async def test_uvicorns_state_is_held_in_slots(
    base: str, token: str, made: list[tuple[WebSocket, Any]]
) -> None:
    """Every attribute uvicorn sets on its protocol lands in `SansIOProtocol`'s slots: an
    open connection's protocol has no instance dict entries (one would cost ~1.3 KiB)."""
    async with open_ws(base, token) as ws:
        await frame(ws, "hello")
        [(_, writer)] = made
        assert vars(writer.proto) == {}


@pytest.fixture
async def pinging(sqlite_url: str) -> AsyncIterator[str]:
    """A server whose keepalive pings every second and waits a second for the pong."""
    async with running_server(
        make_settings(sqlite_url), ws_ping_interval=1.0, ws_ping_timeout=1.0
    ) as url:
        yield url


async def test_a_peer_that_answers_the_keepalive_pings_stays(
    pinging: str, made: list[tuple[WebSocket, Any]]
) -> None:
    """The wheel's pings go out every interval, and answered ones keep the connection."""
    async with httpx.AsyncClient(timeout=10) as http:
        token = await login(http, pinging, "ann")
    async with open_ws(pinging, token, ping_interval=None) as ws:
        await frame(ws, "hello")
        [(_, writer)] = made
        await asyncio.sleep(5)
        assert writer.proto.last_ping_rtt > 0  # a ping went out and its pong came back
        await ws.send(json.dumps({"type": "ping", "ref": "still"}))
        assert (await frame(ws, "pong")).get("ref") == "still"


async def test_a_peer_that_stops_answering_pings_is_closed_1011(pinging: str) -> None:
    """A peer that reads nothing (gone without a FIN) is closed with 1011 once a ping has
    gone unanswered for the timeout, as uvicorn's own keepalive does."""
    async with httpx.AsyncClient(timeout=10) as http:
        token = await login(http, pinging, "ann")
    upgrade = (
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\n\r\n"
    )
    # Everything until the server closes: the 101, `hello`, the ping, the close frame.
    got = await raw_exchange(pinging, upgrade)
    assert got.startswith(b"HTTP/1.1 101")
    assert b"\x88" + bytes([2 + len(b"keepalive ping timeout")]) + b"\x03\xf3" in got

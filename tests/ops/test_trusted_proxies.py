"""`werkplaats serve` believes X-Forwarded-* only from WERKPLAATS_TRUSTED_PROXIES."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers import ServerProcess, Templates, password_of

pytestmark = pytest.mark.slow


def log_line(server: ServerProcess, path: str, timeout: float = 10) -> str:
    """The server's log line of the request for `path` (written just after the answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log.read_text(errors="replace").splitlines():
            if f"path={path} " in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no log line for {path}")


def start_server(templates: Templates, folder: Path, trusted: str) -> ServerProcess:
    """`werkplaats serve` on a copy of the seeded SQLite file, trusting `trusted`."""
    with ThreadPoolExecutor(1) as pool:
        url = pool.submit(asyncio.run, templates.sqlite(folder / "db.sqlite")).result(timeout=60)
    env = {
        "WERKPLAATS_DATABASE_URL": url,
        "WERKPLAATS_REDIS_URL": "",
        "WERKPLAATS_TRUSTED_PROXIES": trusted,
        "WERKPLAATS_LOG_LEVEL": "INFO",
        "WERKPLAATS_TEST_LOG_DIR": str(folder),
    }
    proc = ServerProcess(env)
    proc.start()
    try:
        proc.wait_ready()
    except BaseException:
        proc.stop()
        raise
    return proc


@pytest.fixture(scope="module")
def trusted(
    templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server behind loopback proxies, the network written with host bits (127.0.0.1/8)."""
    proc = start_server(templates, tmp_path_factory.mktemp("trusted"), "127.0.0.1/8")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def untrusted(
    templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server that trusts only proxies on 10.0.0.0/8: loopback peers are clients."""
    proc = start_server(templates, tmp_path_factory.mktemp("untrusted"), "10.0.0.0/8")
    yield proc
    proc.stop()


def forwarded_get(server: ServerProcess, **headers: str) -> str:
    """GET a fresh path with these headers; returns the server's log line for it."""
    path = f"/nope-{uuid.uuid4().hex[:12]}"
    httpx.get(f"{server.url}{path}", headers=headers, timeout=5)
    return log_line(server, path)


def login_cookie(server: ServerProcess, **headers: str) -> str:
    r = httpx.post(
        f"{server.url}/api/session",
        json={"username": "ann", "password": password_of("ann")},
        headers=headers,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.headers["set-cookie"]


def test_forwarded_for_from_a_trusted_network_is_the_client(trusted: ServerProcess) -> None:
    """A network written with host bits (127.0.0.1/8) is trusted, as the settings accept it."""
    line = forwarded_get(trusted, **{"X-Forwarded-For": "127.0.0.9"})
    assert "client=127.0.0.9" in line


def test_forwarded_for_from_an_untrusted_peer_is_ignored(untrusted: ServerProcess) -> None:
    """X-Forwarded-For from a peer outside the trusted networks leaves the peer's address."""
    line = forwarded_get(untrusted, **{"X-Forwarded-For": "127.0.0.9"})
    assert "client=127.0.0.1" in line and "127.0.0.9" not in line


def test_https_from_a_trusted_proxy_makes_the_cookie_secure(trusted: ServerProcess) -> None:
    """X-Forwarded-Proto: https from a trusted proxy gives the session cookie `Secure`."""
    assert "secure" in login_cookie(trusted, **{"X-Forwarded-Proto": "https"}).lower()


def test_https_from_an_untrusted_peer_leaves_the_cookie_plain(untrusted: ServerProcess) -> None:
    """X-Forwarded-Proto: https from an untrusted peer does not make the cookie `Secure`."""
    assert "secure" not in login_cookie(untrusted, **{"X-Forwarded-Proto": "https"}).lower()


def upgrade_status(server: ServerProcess) -> int:
    """The status of a /ws upgrade saying https, with an https Origin and no session."""
    with pytest.raises(InvalidStatus) as refused:
        connect(
            f"ws://127.0.0.1:{server.port}/ws",
            origin=f"https://127.0.0.1:{server.port}",  # type: ignore[arg-type]
            additional_headers={"X-Forwarded-Proto": "https"},
            open_timeout=10,
        )
    return refused.value.response.status_code


def test_websocket_scope_takes_the_trusted_proxys_scheme(
    trusted: ServerProcess, untrusted: ServerProcess
) -> None:
    """Through a trusted proxy saying https, /ws is wss: its https Origin passes (then 401)."""
    assert upgrade_status(trusted) == 401
    assert upgrade_status(untrusted) == 403

"""Slow-loris: a request head dribbled byte by byte is cut off, and others are served meanwhile."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.helpers import ServerProcess
from tests.security.conftest import BODY_TIMEOUT, HEAD_TIMEOUT

UPGRADE_HEAD = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


def dribble(port: int, data: bytes, every: float, give_up: float) -> float | None:
    """Send `data` one byte per `every` seconds; seconds until the server closed, or None."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        return dribble_on(s, data, every, give_up)


def dribble_on(s: socket.socket, data: bytes, every: float, give_up: float) -> float | None:
    start = time.monotonic()
    s.settimeout(every)
    for byte in data * 100:
        try:
            s.sendall(bytes([byte]))
            if s.recv(1024) == b"":
                return time.monotonic() - start
        except TimeoutError:
            pass
        except OSError:
            return time.monotonic() - start
        if time.monotonic() - start > give_up:
            return None
    return None


@pytest.mark.slow
def test_dribbled_upgrade_is_cut_off(served: ServerProcess) -> None:
    """An upgrade request sent a byte at a time is closed soon after the head deadline."""
    closed_after = dribble(served.port, UPGRADE_HEAD, every=0.2, give_up=HEAD_TIMEOUT + 6)
    assert closed_after is not None, "the server kept a slow-loris connection open"
    assert HEAD_TIMEOUT - 0.5 <= closed_after <= HEAD_TIMEOUT + 3


@pytest.mark.slow
def test_silent_connection_is_cut_off(served: ServerProcess) -> None:
    """A connection that sends nothing at all is closed at the head deadline too."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", served.port), timeout=HEAD_TIMEOUT + 5) as s:
        assert s.recv(1024) == b""
    assert time.monotonic() - start <= HEAD_TIMEOUT + 3


@pytest.mark.slow
def test_others_are_served_during_slowloris(served: ServerProcess) -> None:
    """While 50 slow-loris connections hang, ordinary requests answer at once."""
    sockets = []
    try:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", served.port), timeout=5)
            s.sendall(UPGRADE_HEAD[:20])
            sockets.append(s)
        for _ in range(5):
            start = time.monotonic()
            r = httpx.get(f"{served.url}/healthz", timeout=5)
            assert r.status_code == 200
            assert time.monotonic() - start < 1.0
        time.sleep(HEAD_TIMEOUT + 1.5)
        for s in sockets:
            s.settimeout(2)
            assert s.recv(1024) == b"", "a slow-loris connection outlived the deadline"
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
def test_complete_requests_are_not_cut(served: ServerProcess) -> None:
    """A kept-alive connection with prompt requests outlives the head deadline."""
    with httpx.Client(timeout=5) as http:
        for _ in range(2):
            assert http.get(f"{served.url}/healthz").status_code == 200
            time.sleep(HEAD_TIMEOUT * 0.75)
        assert http.get(f"{served.url}/healthz").status_code == 200


@pytest.mark.slow
def test_dribbled_body_is_cut_off(served: ServerProcess) -> None:
    """A login whose body comes a byte at a time is closed at the body deadline."""
    body = b'{"username":"ann","password":"password-ann"}'
    head = (
        b"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        # Within the login's 4 KiB: a longer declared body is refused at once (test_bodies.py).
        + b"Content-Length: %d\r\n\r\n" % (len(body) * 50)
    )
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as s:
        s.sendall(head)
        closed_after = dribble_on(s, body, every=0.2, give_up=BODY_TIMEOUT + 6)
    assert closed_after is not None, "the server kept a slow-body connection open"
    assert BODY_TIMEOUT - 0.5 <= closed_after <= BODY_TIMEOUT + 3


@pytest.mark.slow
def test_slow_but_steady_request_is_served(served: ServerProcess) -> None:
    """A request head sent in a few pieces within the deadline is answered normally."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as s:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
            s.sendall(piece)
            time.sleep(HEAD_TIMEOUT / 4)
        assert s.recv(1024).startswith(b"HTTP/1.1 200")

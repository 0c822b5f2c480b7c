"""Request bodies are limited while they stream in: 413 `too_large`, the server's memory flat."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.helpers import ServerProcess, Templates, token_for
from tests.security.conftest import serve_env

MIB = 1024 * 1024
BIG = 200 * MIB
# What 200 MiB read whole would add many times over; what a server may grow by for other reasons.
MAX_GROWTH_KIB = 30 * 1024


@pytest.fixture(scope="module")
def server(
    templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A `werkplaats serve` of its own (one process), so that its memory is this test's alone."""
    workdir: Path = tmp_path_factory.mktemp("bodies")
    proc = ServerProcess(serve_env(templates, workdir, WERKPLAATS_LOGIN_MAX_FAILURES="1000"))
    proc.start()
    try:
        proc.wait_ready(60)
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    return token_for(server.url, "ada")


def peak_rss_kib(server: ServerProcess) -> int:
    """The server process's peak resident memory (VmHWM) in KiB."""
    assert server.proc is not None
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def head(path: str, headers: dict[str, str], method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> bytes:
    """What the server answered before it closed (b"" when the close came first)."""
    answer = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


def send_body(port: int, path: str, headers: dict[str, str], total: int, chunked: bool) -> bytes:
    """Send a request with a `total`-byte body as fast as the server takes it; its answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(total)}
        sock.sendall(head(path, {**headers, **framing}))
        block = b"x" * MIB
        piece = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
        try:
            for _ in range(total // MIB):
                sock.sendall(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed after its 413: what the test wants
        return read_answer(sock)
    finally:
        sock.close()


def assert_too_large(answer: bytes) -> None:
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 413 Request Entity Too Large", answer[:300]
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    assert orjson.loads(body)["error"]["code"] == "too_large"


def assert_healthy(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_declared_length_over_limit_is_refused_before_the_body(server: ServerProcess) -> None:
    """A Content-Length of 200 MiB is answered 413 at once, with no byte of the body sent."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head("/api/session", {"Content-Length": str(BIG)}))
        assert_too_large(read_answer(sock))


def test_streamed_body_over_limit_is_413(server: ServerProcess) -> None:
    """A chunked body that passes 64 KiB is answered 413 `too_large` and the connection closed."""
    assert_too_large(send_body(server.port, "/api/session", {}, 2 * MIB, chunked=True))


def test_body_on_a_get_is_refused(server: ServerProcess, token: str) -> None:
    """A GET that declares a body is answered 413: no endpoint that reads none holds one."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            head(
                "/api/rooms",
                {"Content-Length": str(10), "Authorization": f"Bearer {token}"},
                method="GET",
            )
        )
        assert_too_large(read_answer(sock))


@pytest.mark.slow
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/session", (b"413",)),
        ("/api/rooms/area-a/bans", (b"413",)),
        # No POST here: a declared length is refused, a stream answered without being read.
        ("/api/rooms", (b"413", b"405")),
    ],
)
def test_200_mib_body_leaves_memory_flat(
    server: ServerProcess, token: str, path: str, status: tuple[bytes, ...], chunked: bool
) -> None:
    """200 MiB to an endpoint: 413 (or a close), and the server's peak RSS grows < 30 MiB."""
    auth = {"Authorization": f"Bearer {token}"}
    send_body(server.port, path, auth, 2 * MIB, chunked=True)  # warm the path up
    before = peak_rss_kib(server)
    answer = send_body(server.port, path, auth, BIG, chunked)
    grown = peak_rss_kib(server) - before
    assert grown < MAX_GROWTH_KIB, f"peak RSS grew {grown} KiB"
    if answer:
        assert answer[9:12] in status, answer[:300]
        assert b"\r\nconnection: close\r\n" in answer.lower()
    assert_healthy(server)

"""The slow-loris guard and uploads: a slow but steady upload outlives the body deadline of
JSON requests; an upload that stops sending is cut off."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.files.conftest import PDF
from tests.helpers import ServerProcess, Templates, token_for
from tests.security.conftest import serve_env

BODY_TIMEOUT = 2.0
UPLOAD_IDLE = 2.0
BOUNDARY = b"sl0wBoundary"


@pytest.fixture(scope="module")
def guarded(
    templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("slow-upload")
    env = serve_env(
        templates,
        workdir,
        WERKPLAATS_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        WERKPLAATS_UPLOAD_IDLE_SECONDS=str(UPLOAD_IDLE),
        WERKPLAATS_FILES_DIR=str(workdir / "files"),
        # The guard is under test, not the scanner.
        WERKPLAATS_FILES_SCAN="false",
    )
    proc = ServerProcess(env)
    proc.start()
    try:
        proc.wait_ready(60)
        yield proc
    finally:
        proc.stop()


def _pieces(token: str) -> tuple[bytes, list[bytes]]:
    body = (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="t.pdf"'
        b"\r\nContent-Type: application/pdf\r\n\r\n" + PDF + b"\r\n--" + BOUNDARY + b"--\r\n"
    )
    head = (
        b"POST /api/rooms/area-a/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=" + BOUNDARY + b"\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    step = len(body) // 5 + 1
    return head, [body[i : i + step] for i in range(0, len(body), step)]


@pytest.mark.slow
def test_slow_steady_upload_is_served(guarded: ServerProcess, tmp_path: Path) -> None:
    """An upload whose body takes longer than the JSON body deadline, never silent for long,
    is stored."""
    head, pieces = _pieces(token_for(guarded.url, "ann"))
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=10) as s:
        s.sendall(head)
        for piece in pieces:
            time.sleep(UPLOAD_IDLE / 2)
            s.sendall(piece)
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]


@pytest.mark.slow
def test_stalled_upload_is_cut_off(guarded: ServerProcess) -> None:
    """An upload that stops sending halfway is closed by the server."""
    head, pieces = _pieces(token_for(guarded.url, "ann"))
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=UPLOAD_IDLE + 10) as s:
        s.sendall(head + pieces[0])
        try:
            closed = s.recv(4096)
        except ConnectionResetError:
            closed = b""
    assert not closed.startswith(b"HTTP/1.1 2"), closed[:300]

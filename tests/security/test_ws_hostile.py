"""Hostile input on /ws end to end: oversized, fragmented, compressed, invalid UTF-8, random."""

from __future__ import annotations

import contextlib
import json
import struct
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.helpers import ServerProcess, token_for, ws_url
from tests.security.test_frame_parser import near_frames
from tests.sockets import close_frame_code, open_raw, raw_frame, server_frames

LIMIT = 64 * 1024  # WERKPLAATS_MAX_FRAME_BYTES default
CLOSE_PROTOCOL_ERROR, CLOSE_INVALID_DATA, CLOSE_POLICY, CLOSE_TOO_BIG = 1002, 1007, 1008, 1009


def open_ws(served: ServerProcess, token: str, **options: Any) -> ClientConnection:
    ws = connect(
        ws_url(served.url),
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
        close_timeout=5,
        max_size=None,
        legacy=True,
        **options,
    )
    hello = json.loads(str(ws.recv(timeout=10)).split("\n")[0])
    assert hello["type"] == "hello"
    return ws


def frames(ws: ClientConnection, timeout: float = 5) -> Iterator[dict[str, Any]]:
    """Frames received until `timeout` passes without one or the connection closes."""
    while True:
        try:
            raw = ws.recv(timeout=timeout)
        except (TimeoutError, ConnectionClosed):
            return
        for line in str(raw).split("\n"):
            if line.strip():
                yield json.loads(line)


def reply(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    return next(frames(ws, timeout))


def close_code(ws: ClientConnection, timeout: float = 5) -> int | None:
    """Drain until the server closes; its close code."""
    for _ in frames(ws, timeout):
        pass
    return ws.close_code


def still_serves(ws: ClientConnection) -> bool:
    ws.send(json.dumps({"type": "ping", "ref": "alive"}))
    return any(f.get("ref") == "alive" for f in frames(ws, 5) if f["type"] == "pong")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@pytest.fixture(scope="module")
def token(served: ServerProcess) -> str:
    return token_for(served.url, "ann")


def test_oversized_frame_closes_1009(served: ServerProcess, token: str) -> None:
    """A text frame over the limit closes the connection with 1009."""
    ws = open_ws(served, token)
    ws.send(json.dumps({"type": "ping", "pad": "x" * (LIMIT + 10)}))
    assert close_code(ws) == CLOSE_TOO_BIG


def test_fragmented_message_over_the_limit_closes_1009(served: ServerProcess, token: str) -> None:
    """Small fragments that add up to more than the limit close with 1009."""
    ws = open_ws(served, token)
    try:
        ws.send(["x" * 8192 for _ in range(10)])
    except ConnectionClosed as exc:
        # The server may close at the fragment that crosses the limit, before the last is sent.
        assert exc.rcvd is not None and exc.rcvd.code == CLOSE_TOO_BIG
        return
    assert close_code(ws) == CLOSE_TOO_BIG


def test_a_message_over_the_limit_still_being_sent_gets_1009_not_a_reset(
    served: ServerProcess, token: str
) -> None:
    """The server gives up on a message once its header says it is too big, while the
    client is still sending it (4 MiB here). It half-closes and drains the rest: the client
    reads the 1009 close frame and then the end of the stream. A socket closed with the
    rest unread is reset instead, and the reset can overtake the close frame."""
    sock = open_raw(ws_url(served.url), token, receive_buffer=None)
    received = b""
    size = 4 * 1024 * 1024
    # A masked frame with an all-zero mask: the payload goes as it is.
    frame = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", size) + bytes(4) + b"x" * size

    def send_it() -> None:
        with contextlib.suppress(OSError):  # the reset the old way; never once drained
            sock.sendall(frame)

    sender = threading.Thread(target=send_it)
    sender.start()
    try:
        while chunk := sock.recv(65536):  # a reset raises ConnectionResetError here
            received += chunk
    finally:
        sender.join(timeout=10)
        sock.close()
    codes = [close_frame_code(p) for opcode, p in server_frames(received) if opcode == 0x8]
    assert codes == [CLOSE_TOO_BIG]


def test_fragmented_message_under_the_limit_is_one_frame(served: ServerProcess, token: str) -> None:
    """A frame sent in fragments is reassembled and answered as one."""
    ws = open_ws(served, token)
    text = json.dumps({"type": "ping", "ref": "frag"})
    ws.send([text[:5], text[5:11], text[11:]])
    assert reply(ws) == {"type": "pong", "ref": "frag"}
    ws.close()


def test_offered_compression_is_declined(served: ServerProcess, token: str) -> None:
    """The server does not agree to permessage-deflate, so nothing is inflated past the limit."""
    ws = open_ws(served, token, compression="deflate")
    assert ws.protocol.extensions == []
    ws.send(json.dumps({"type": "ping", "pad": " " * (4 * LIMIT)}))
    assert close_code(ws) == CLOSE_TOO_BIG


def test_compressed_frame_without_agreement_is_a_protocol_error(
    served: ServerProcess, token: str
) -> None:
    """A deflated 4 MiB frame (RSV1 set, 4 KiB on the wire) is refused, not inflated."""
    ws = open_ws(served, token, compression="deflate")
    before = rss_kib(served.proc.pid)  # type: ignore[union-attr]
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(b" " * (4 * 2**20)) + bomb.flush(zlib.Z_SYNC_FLUSH)[:-4]
    ws.socket.sendall(raw_frame(payload, rsv1=True))
    assert close_code(ws) == CLOSE_PROTOCOL_ERROR
    assert rss_kib(served.proc.pid) - before < 16 * 1024  # type: ignore[union-attr]


def test_invalid_utf8_closes_1007(served: ServerProcess, token: str) -> None:
    """A text frame that is not UTF-8 closes with 1007 (invalid data)."""
    ws = open_ws(served, token)
    ws.socket.sendall(raw_frame(b'{"type":"ping","x":"\xff\xfe"}'))
    assert close_code(ws) == CLOSE_INVALID_DATA


def test_binary_frame_is_a_bad_frame(served: ServerProcess, token: str) -> None:
    """A binary frame is answered `bad_frame`; the connection stays open."""
    ws = open_ws(served, token)
    ws.send(b'{"type":"ping"}')
    got = reply(ws)
    assert got["type"] == "error" and got["code"] == "bad_frame"
    assert still_serves(ws)
    ws.close()


def test_eleven_bad_frames_close_1008(served: ServerProcess, token: str) -> None:
    """Every bad frame is answered; the eleventh in a minute closes with 1008."""
    ws = open_ws(served, token)
    for i in range(11):
        ws.send(f"not json {i}")
    answered = [f for f in frames(ws) if f["type"] == "error"]
    assert len(answered) >= 10 and all(f["code"] == "bad_frame" for f in answered)
    assert ws.close_code == CLOSE_POLICY


def test_deeply_nested_json_is_a_bad_frame(served: ServerProcess, token: str) -> None:
    """JSON nested 5000 deep (10 KB) is answered `bad_frame`, not a dead connection."""
    ws = open_ws(served, token)
    ws.send('{"type":"ping","x":' + "[" * 5000 + "]" * 5000 + "}")
    got = reply(ws)
    assert got["type"] == "error" and got["code"] == "bad_frame"
    assert still_serves(ws)
    ws.close()


class Fuzzed:
    """One connection reused across hypothesis examples; reopened when the server closes it."""

    def __init__(self, served: ServerProcess, token: str) -> None:
        self.served, self.token = served, token
        self.ws = open_ws(served, token)
        self.closes: list[int | None] = []

    def send(self, text: str) -> list[dict[str, Any]]:
        try:
            self.ws.send(text)
            self.ws.send('{"type":"ping","ref":"fence"}')
        except ConnectionClosed:
            pass
        got = []
        for frame in frames(self.ws, 5):
            got.append(frame)
            if frame.get("ref") == "fence":
                return got
        self.closes.append(self.ws.close_code)
        self.ws = open_ws(self.served, self.token)
        return got


@pytest.mark.slow
def test_random_frames_end_to_end(served: ServerProcess, token: str) -> None:
    """Random frames over /ws: every answer is a contract frame, never `internal` or a crash."""
    fuzz = Fuzzed(served, token)
    before = rss_kib(served.proc.pid)  # type: ignore[union-attr]
    rooms = st.sampled_from(["area-a", "area-b", "theme-one", "nope", "", "x" * 65])

    def with_room(frame: dict[str, Any], room: str) -> dict[str, Any]:
        return {**frame, "room": room} if "room" not in frame else frame

    texts = st.one_of(
        st.builds(lambda f, r: json.dumps(with_room(f, r)), near_frames, rooms),
        st.text(max_size=200),
    )

    @given(texts)
    @settings(
        max_examples=80,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(text: str) -> None:
        for frame in fuzz.send(text):
            assert isinstance(frame.get("type"), str), frame
            if frame["type"] == "error":
                assert frame["code"] != "internal", frame
                assert frame["code"] in {
                    "bad_frame",
                    "too_large",
                    "forbidden",
                    "not_found",
                    "rate_limited",
                    "muted",
                    "room_locked",
                    "conflict",
                }, frame
            if "room" in frame and frame["type"] in ("message", "typing", "presence"):
                assert frame["room"] in ("area-a", "theme-one", "theme-two"), frame

    check()
    assert set(fuzz.closes) <= {CLOSE_POLICY}, fuzz.closes
    fuzz.ws.close()
    assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200
    assert rss_kib(served.proc.pid) - before < 64 * 1024  # type: ignore[union-attr]


@pytest.mark.slow
def test_memory_stays_bounded_under_oversized_frames(served: ServerProcess, token: str) -> None:
    """200 connections each sending a frame just under and one over the limit: RSS stays flat."""
    pid = served.proc.pid  # type: ignore[union-attr]
    before = rss_kib(pid)
    for _ in range(100):
        ws = open_ws(served, token)
        ws.send(json.dumps({"type": "ping", "pad": "y" * (LIMIT - 100)}))
        ws.send("z" * (LIMIT + 1))
        assert close_code(ws) == CLOSE_TOO_BIG
    assert rss_kib(pid) - before < 32 * 1024

"""Arbitrary client frames never crash the server, never get `internal`, never hurt others."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from chat.protocol import FRAME_TYPES
from tests.helpers import ServerProcess, Templates, token_for

pytestmark = pytest.mark.slow

scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
value = st.recursive(
    scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
rooms = st.sampled_from(["theme-one", "area-a", "area-b", "nope", "", "THEME-ONE"]) | st.text(
    max_size=80
)
ids = st.integers(min_value=-5, max_value=2**64) | st.text(alphabet="0123456789x-", max_size=25)
frame = st.fixed_dictionaries(
    {"type": st.sampled_from([*FRAME_TYPES, "bogus", ""])},
    optional={
        "room": rooms | value,
        "since": st.none() | ids | value,
        "body": st.text(max_size=60) | value,
        "client_id": st.text(max_size=70) | value,
        "message_id": ids | value,
        "reply_to": ids | value,
        "seq": ids | value,
        "ref": st.text(max_size=70) | value,
    },
)
texts = frame.map(json.dumps) | value.map(json.dumps) | st.text(max_size=200)
# Closes a fuzzed connection may get: bad-frame budget or flooding (1008), size (1009).
ALLOWED_CLOSES = {1008, 1009}


@pytest.fixture
def lone_server(templates: Templates, tmp_path: Path) -> Iterator[ServerProcess]:
    url = asyncio.run(templates.sqlite(tmp_path / "fuzz.db"))
    server = ServerProcess(
        {
            "WERKPLAATS_DATABASE_URL": url,
            "WERKPLAATS_REDIS_URL": "",
            "WERKPLAATS_TEST_LOG_DIR": str(tmp_path),
            "WERKPLAATS_LOG_LEVEL": "WARNING",
        }
    )
    server.start()
    server.wait_ready(60)
    yield server
    server.stop()


@contextmanager
def open_ws(base: str, token: str) -> Iterator[ClientConnection]:
    with connect(
        "ws" + base.removeprefix("http") + "/ws",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
    ) as ws:
        assert json.loads(str(ws.recv(timeout=10)).split("\n")[0])["type"] == "hello"
        yield ws


def frames_until(ws: ClientConnection, ref: str) -> list[dict[str, Any]]:
    """Every frame received up to the reply carrying `ref`."""
    seen: list[dict[str, Any]] = []
    while True:
        for line in str(ws.recv(timeout=15)).split("\n"):
            got = json.loads(line)
            seen.append(got)
            if got.get("ref") == ref and got.get("type") in ("pong", "subscribed"):
                return seen


def test_arbitrary_frames_never_break_the_server_or_another_client(
    lone_server: ServerProcess,
) -> None:
    """Fuzzed frames: answers or a 1008/1009 close, never `internal`; bystanders unaffected."""
    base = lone_server.url
    fuzzer_token = token_for(base, "ann")
    with open_ws(base, token_for(base, "amy")) as bystander:
        fuzz_alongside(base, fuzzer_token, bystander)
    assert lone_server.proc is not None and lone_server.proc.poll() is None
    log = Path(lone_server.log).read_text()
    assert "Traceback" not in log, log[-3000:]


def fuzz_alongside(base: str, fuzzer_token: str, bystander: ClientConnection) -> None:
    bystander.send(json.dumps({"type": "subscribe", "room": "area-a", "since": None, "ref": "s"}))
    frames_until(bystander, "s")

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(batch=st.lists(texts, min_size=1, max_size=12))
    def fuzz(batch: list[str]) -> None:
        try:
            with open_ws(base, fuzzer_token) as ws:
                for text in batch:
                    ws.send(text)
                ws.send(json.dumps({"type": "ping", "ref": "fuzz-end"}))
                replies = frames_until(ws, "fuzz-end")
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code in ALLOWED_CLOSES, closed
            return
        internal = [r for r in replies if r.get("type") == "error" and r["code"] == "internal"]
        assert not internal, internal
        assert not [r for r in replies if r.get("room") == "area-b"]

    fuzz()
    # The bystander is still served, in order.
    with open_ws(base, token_for(base, "rita")) as sender:
        sender.send(
            json.dumps({"type": "send", "room": "area-a", "body": "nog daar?", "client_id": "z"})
        )
        frames_until_ack(sender)
    bystander.send(json.dumps({"type": "ping", "ref": "after"}))
    seen = frames_until(bystander, "after")
    while not [f for f in seen if f.get("body") == "nog daar?"]:
        seen += [json.loads(line) for line in str(bystander.recv(timeout=15)).split("\n")]
    seqs = [
        f["seq"] for f in seen if f.get("type") in ("message", "message_edited", "message_hidden")
    ]
    assert seqs == sorted(set(seqs))


def frames_until_ack(ws: ClientConnection) -> None:
    while not any(json.loads(x).get("type") == "ack" for x in str(ws.recv(timeout=15)).split("\n")):
        pass

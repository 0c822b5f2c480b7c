"""Logs of `werkplaats serve --workers 2`: every worker, key=value or JSON, no secrets."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from tests.helpers import ServerProcess, Templates, bearer, token_for, ws_url
from tests.ops.conftest import log_lines, module_server, wait_lines

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kv_server(
    templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    yield from module_server(templates, tmp_path_factory)


@pytest.fixture(scope="module")
def json_server(
    templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    yield from module_server(templates, tmp_path_factory, WERKPLAATS_LOG_FORMAT="json")


def test_both_workers_write_request_lines(kv_server: ServerProcess) -> None:
    """Requests spread over the two workers: each worker writes its own request lines."""
    pids: set[str] = set()
    for _ in range(300):
        # A connection per request: the kernel hands each to either worker.
        httpx.get(f"{kv_server.url}/healthz", timeout=10)
        lines = log_lines(kv_server)
        pids = {x["pid"] for x in lines if x["logger"] == "werkplaats.http"}
        if len(pids) >= 2:
            break
    assert len(pids) == 2, pids


def test_every_line_is_key_value(kv_server: ServerProcess) -> None:
    """Each line of the log, uvicorn's included, is key=value with time, level, logger, pid."""
    httpx.get(f"{kv_server.url}/api/me", timeout=10)
    lines = log_lines(kv_server)
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "pid", "msg"} <= set(line), line
    assert any(line["logger"].startswith("uvicorn") for line in lines)


def test_request_id_is_returned_and_on_the_request_line(kv_server: ServerProcess) -> None:
    """The X-Request-ID answered is on the request's log line, with method, path and status."""
    r = httpx.get(f"{kv_server.url}/api/me?q=zoekterm-geheim", timeout=10)
    request_id = r.headers["x-request-id"]
    [line] = wait_lines(kv_server, lambda x: x.get("request_id") == request_id)
    assert line["msg"] == "request"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/me", "401")
    assert "zoekterm" not in kv_server.log.read_text()


def test_websocket_open_and_close_lines(kv_server: ServerProcess) -> None:
    """A WebSocket's open and close lines name the user, and the close its code and duration."""
    token = token_for(kv_server.url, "rita")
    with connect(ws_url(kv_server.url), additional_headers=bearer(token), open_timeout=10) as ws:
        ws.recv(timeout=10)
        ws.close(1000)
    [opened] = wait_lines(kv_server, lambda x: x["msg"] == "ws open" and x["user"] == "rita")
    [closed] = wait_lines(kv_server, lambda x: x["msg"] == "ws close" and x["user"] == "rita")
    assert closed["code"] == "1000"
    assert float(closed["seconds"]) >= 0
    assert opened["request_id"] == closed["request_id"]
    assert opened["conn"] == closed["conn"]


def test_ws_token_in_query_never_logged(kv_server: ServerProcess) -> None:
    """`/ws?token=…`, refused or accepted, leaves no token in the log."""
    refused = "secret-query-token-4d1f"
    with pytest.raises(Exception, match="401"):
        connect(ws_url(kv_server.url, f"?token={refused}"), open_timeout=10)
    token = token_for(kv_server.url, "mo")
    with connect(
        ws_url(kv_server.url, f"?token={token}"), additional_headers=bearer(token), open_timeout=10
    ) as ws:
        ws.recv(timeout=10)
    wait_lines(kv_server, lambda x: x["msg"] == "ws close" and x["user"] == "mo")
    text = kv_server.log.read_text()
    assert refused not in text
    assert token not in text
    assert "token=" not in text
    messages = [x["msg"] for x in log_lines(kv_server)]
    assert any(m.endswith('"WebSocket /ws?…" 401') for m in messages)
    assert any(m.endswith('"WebSocket /ws?…" [accepted]') for m in messages)


def test_invalid_utf8_frame_is_one_info_line(kv_server: ServerProcess) -> None:
    """An invalid UTF-8 text frame: closed 1007, one INFO line, no traceback, no ERROR."""
    token = token_for(kv_server.url, "ada")
    with connect(ws_url(kv_server.url), additional_headers=bearer(token), open_timeout=10) as ws:
        ws.recv(timeout=10)
        # Sent as a text frame without the client's own UTF-8 check.
        ws.send(b'{"type":"ping","ref":"\xff\xfe"}', text=True)
        with pytest.raises(Exception, match="1007"):
            while True:
                ws.recv(timeout=10)
    [closed] = wait_lines(kv_server, lambda x: x["msg"] == "ws close" and x["user"] == "ada")
    assert closed["code"] == "1007"
    lines = log_lines(kv_server)
    utf8 = [x for x in lines if "UTF-8" in x["msg"]]
    assert len(utf8) == 1, utf8
    assert utf8[0]["level"] == "INFO"
    assert "exc" not in utf8[0]
    text = kv_server.log.read_text()
    assert "Traceback" not in text
    assert not [x for x in lines if x["level"] == "ERROR"]


def test_json_lines_parse_with_request_fields(json_server: ServerProcess) -> None:
    """WERKPLAATS_LOG_FORMAT=json: every line is a JSON object; request lines carry fields."""
    r = httpx.get(f"{json_server.url}/healthz", timeout=10)
    request_id = r.headers["x-request-id"]
    [request] = wait_lines(json_server, lambda x: x.get("request_id") == request_id, fmt="json")
    assert request["msg"] == "request"
    assert (request["method"], request["path"], request["status"]) == ("GET", "/healthz", 200)
    for line in log_lines(json_server, "json"):
        assert {"time", "level", "logger", "pid", "msg"} <= set(line), line


def test_json_lines_come_from_both_workers(json_server: ServerProcess) -> None:
    """WERKPLAATS_LOG_FORMAT=json reaches both workers: application lines from two pids."""
    deadline = time.monotonic() + 30
    pids: set[object] = set()
    while len(pids) < 2 and time.monotonic() < deadline:
        lines = log_lines(json_server, "json")
        pids = {x["pid"] for x in lines if x["logger"].startswith("werkplaats.")}
        time.sleep(0.2)
    assert len(pids) == 2, pids

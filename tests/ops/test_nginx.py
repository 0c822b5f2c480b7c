"""Debian's nginx with docs/nginx/werkplaats.conf in front of two `werkplaats serve` processes.

The configuration under test is the documented file itself: only its listening addresses,
upstream servers, certificate paths and log folder are swapped for the test's own (each
swap must find its text, so the file and the test cannot drift apart). nginx runs as this
test's own foreground process with its prefix, pid, logs and temp files in a temp folder;
the servers share one PostgreSQL database and one Redis prefix, and trust 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers import (
    REDIS_URL,
    ROOT,
    ServerProcess,
    Templates,
    free_port,
    password_of,
    postgres_up,
    redis_flush_prefix,
    redis_up,
    require,
)
from tests.ops.tls import PUBLIC_NAME, client_context, make_certificate

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

NGINX = "/usr/sbin/nginx"
DOCUMENTED = ROOT / "docs" / "nginx" / "werkplaats.conf"
ROOM = "theme-one"


def render(text: str, *, http_port: int, tls_port: int, upstreams: list[int], cert: Path,
           key: Path, logs: Path) -> str:  # fmt: skip
    """The documented configuration with the test's addresses, certificate and log folder."""
    swaps = [
        ("    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n"),
        ("    listen [::]:80;\n", ""),
        ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{tls_port} ssl http2;\n"),
        ("    listen [::]:443 ssl http2;\n", ""),
        ("/etc/ssl/werkplaats/fullchain.pem", str(cert)),
        ("/etc/ssl/werkplaats/chain.pem", str(cert)),
        ("/etc/ssl/werkplaats/privkey.pem", str(key)),
        ("/var/log/nginx/", f"{logs}/"),
        ("server 10.0.0.11:8000 ", f"server 127.0.0.1:{upstreams[0]} "),
        ("server 10.0.0.12:8000 ", f"server 127.0.0.1:{upstreams[1]} "),
    ]
    for old, new in swaps:
        assert old in text, f"{DOCUMENTED} no longer contains {old!r}"
        text = text.replace(old, new)
    assert not re.search(r"\b10\.0\.0\.\d+:", text), "an upstream server was not swapped"
    return text


def main_config(prefix: Path) -> str:
    """nginx.conf of the test's own nginx: foreground, everything under `prefix`."""
    # A master started as root hands requests to workers as `nobody`, who cannot enter the
    # test's private temp folder; as another user nginx ignores `user` (with a warning).
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = prefix / "temp"
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/logs/error.log notice;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    client_body_temp_path {temp}/body;\n    proxy_temp_path {temp}/proxy;\n"
        f"    fastcgi_temp_path {temp}/fastcgi;\n    uwsgi_temp_path {temp}/uwsgi;\n"
        f"    scgi_temp_path {temp}/scgi;\n    access_log {prefix}/logs/access.log;\n"
        f"    include {prefix}/conf/werkplaats.conf;\n"
        "}\n"
    )


def wait_listening(proc: subprocess.Popen[bytes], port: int, errors: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {errors.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nginx did not listen: {errors.read_text(errors='replace')[-2000:]}")


@dataclass
class Stack:
    https: str
    http: str
    cert: Path
    servers: list[ServerProcess]
    access_log: Path


def run(coro: Any) -> Any:
    """Run a coroutine to completion from a synchronous (module-scoped) fixture."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=120)


@pytest.fixture(scope="module")
def stack(templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """nginx on loopback (TLS and plain HTTP) before two servers on one PostgreSQL and Redis."""
    require("nginx", Path(NGINX).exists(), f"{NGINX} (make browser-deps installs nginx-light)")
    require("PostgreSQL", postgres_up(), "127.0.0.1:5432")
    require("Redis", redis_up(), "127.0.0.1:6379")
    folder = tmp_path_factory.mktemp("nginx")
    prefix = folder / "prefix"
    for sub in ("conf", "logs", "temp"):
        (prefix / sub).mkdir(parents=True)
    cert, key = make_certificate(folder)
    http_port, tls_port = free_port(), free_port()
    db_url = run(templates.postgres())
    redis_prefix = f"wptest{uuid.uuid4().hex[:8]}"
    env = {
        "WERKPLAATS_DATABASE_URL": db_url,
        "WERKPLAATS_REDIS_URL": REDIS_URL,
        "WERKPLAATS_REDIS_PREFIX": redis_prefix,
        "WERKPLAATS_TRUSTED_PROXIES": "127.0.0.1",
        "WERKPLAATS_PUBLIC_URL": f"https://127.0.0.1:{tls_port}",
        "WERKPLAATS_LOG_LEVEL": "INFO",
        "WERKPLAATS_TEST_LOG_DIR": str(folder),
    }
    servers = [ServerProcess(env), ServerProcess(env)]
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        conf = render(
            DOCUMENTED.read_text(encoding="utf-8"),
            http_port=http_port,
            tls_port=tls_port,
            upstreams=[s.port for s in servers],
            cert=cert,
            key=key,
            logs=prefix / "logs",
        )
        (prefix / "conf" / "werkplaats.conf").write_text(conf, encoding="utf-8")
        (prefix / "conf" / "nginx.conf").write_text(main_config(prefix), encoding="utf-8")
        errors = prefix / "logs" / "error.log"
        with (prefix / "logs" / "stderr.log").open("wb") as out:
            nginx = subprocess.Popen(
                [
                    NGINX,
                    "-p",
                    str(prefix),
                    "-c",
                    str(prefix / "conf" / "nginx.conf"),
                    "-e",
                    str(errors),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_listening(nginx, tls_port, errors)
        yield Stack(
            f"https://127.0.0.1:{tls_port}",
            f"http://127.0.0.1:{http_port}",
            cert,
            servers,
            prefix / "logs" / "werkplaats.access.log",
        )
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait(timeout=10)
        for server in servers:
            server.stop()
        run(redis_flush_prefix(REDIS_URL, redis_prefix))
        run(templates.drop_postgres(db_url))


def client(stack: Stack, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An https client of the stack whose socket is bound to `address` (nginx's $remote_addr)."""
    context = client_context(stack.cert)
    transport = httpx.AsyncHTTPTransport(local_address=address, verify=context)
    return httpx.AsyncClient(transport=transport, base_url=stack.https, timeout=10)


async def log_in(http: httpx.AsyncClient, username: str, password: str | None = None) -> httpx.Response:  # fmt: skip
    return await http.post(
        "/api/session",
        json={"username": username, "password": password or password_of(username)},
    )


def wait_for_lines(path: Path, pattern: str, count: int, timeout: float = 10) -> list[str]:
    """At least `count` lines of the file matching `pattern` (logs are written after answers)."""
    deadline = time.monotonic() + timeout
    found: list[str] = []
    while time.monotonic() < deadline:
        if path.exists():
            found = [
                line
                for line in path.read_text(errors="replace").splitlines()
                if re.search(pattern, line)
            ]
            if len(found) >= count:
                return found
        time.sleep(0.05)
    raise AssertionError(f"{len(found)} of {count} lines matching {pattern!r} in {path}")


async def test_login_through_nginx(stack: Stack) -> None:
    """A login over nginx's TLS gives a session that the next request (cookie) is known by."""
    async with client(stack) as http:
        r = await log_in(http, "ann")
        assert r.status_code == 200, r.text
        me = await http.get("/api/me")
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "ann"


async def test_cookie_is_secure_over_tls(stack: Stack) -> None:
    """Behind nginx's TLS (X-Forwarded-Proto: https) the session cookie is `Secure`."""
    async with client(stack) as http:
        r = await log_in(http, "amy")
    assert r.status_code == 200
    assert "secure" in [p.strip().lower() for p in r.headers["set-cookie"].split(";")]


async def test_one_hsts_header_on_every_answer(stack: Stack) -> None:
    """nginx sends one Strict-Transport-Security, on its own answers and the servers' alike."""
    async with client(stack) as http:
        api = await http.get("/api/me")
    assert api.headers.get_list("strict-transport-security") == [
        "max-age=31536000; includeSubDomains"
    ]


async def test_plain_http_redirects_to_the_public_name(stack: Stack) -> None:
    """Plain HTTP answers 301 to https on the configured name, never to the Host sent."""
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{stack.http}/api/me?x=1", headers={"Host": "evil.example"})
    assert r.status_code == 301
    assert r.headers["location"] == f"https://{PUBLIC_NAME}/api/me?x=1"


async def test_body_over_the_servers_limit_is_refused_by_nginx(stack: Stack) -> None:
    """A body over 64 KiB is refused by nginx with 413 before it reaches a server."""
    async with client(stack) as http:
        r = await http.post("/api/session", content=b"{" + b" " * (65 * 1024) + b"}")
    assert r.status_code == 413


async def test_real_address_reaches_the_throttle(stack: Stack) -> None:
    """Failed logins from 127.0.0.5 block that address, not 127.0.0.6 behind the same nginx."""
    async with client(stack, "127.0.0.5") as guesser, client(stack, "127.0.0.6") as other:
        for attempt in range(300):
            r = await log_in(guesser, f"nobody-{attempt}", "wrong-password")
            if r.status_code == 429:
                break
            assert r.status_code == 401
        else:
            raise AssertionError("127.0.0.5 was never throttled")
        assert (await log_in(guesser, "rita")).status_code == 429
        assert (await log_in(other, "bob")).status_code == 200


def server_log_line(stack: Stack, path: str, timeout: float = 10) -> str:
    """The one line that either server logged for the request of `path`."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [
            line
            for server in stack.servers
            for line in server.log.read_text(errors="replace").splitlines()
            if f"path={path} " in line
        ]
        if lines or time.monotonic() > deadline:
            assert len(lines) == 1, lines
            return lines[0]
        time.sleep(0.05)


async def test_real_address_in_the_server_log(stack: Stack) -> None:
    """The server logs the client's own address (127.0.0.5), not nginx's."""
    path = f"/nope-{uuid.uuid4().hex[:12]}"
    async with client(stack, "127.0.0.5") as http:
        assert (await http.get(path)).status_code == 404
    assert "client=127.0.0.5" in server_log_line(stack, path)


async def test_forged_forwarded_for_is_not_believed(stack: Stack) -> None:
    """An X-Forwarded-For that a client sends itself does not replace its address."""
    path = f"/nope-{uuid.uuid4().hex[:12]}"
    async with client(stack, "127.0.0.5") as http:
        await http.get(path, headers={"X-Forwarded-For": "127.0.0.7"})
    line = server_log_line(stack, path)
    assert "client=127.0.0.5" in line and "127.0.0.7" not in line


async def frames(ws: ClientConnection, timeout: float = 10) -> list[dict[str, Any]]:
    """The frames of the next WebSocket message (the server may batch lines)."""
    raw = await asyncio.wait_for(ws.recv(), timeout)
    return [json.loads(line) for line in str(raw).split("\n") if line.strip()]


async def wait_frame(ws: ClientConnection, kind: str, timeout: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            for frame in await frames(ws):
                if frame["type"] == kind:
                    return frame


async def test_websocket_conversation_across_both_servers(stack: Stack) -> None:
    """Two sockets through nginx land on different servers and talk through Redis."""
    tokens = {}
    async with client(stack) as http:
        for username in ("ann", "bob"):
            r = await log_in(http, username)
            assert r.status_code == 200
            tokens[username] = r.json()["token"]
    context = client_context(stack.cert)
    url = stack.https.replace("https", "wss") + "/ws"
    sockets = []
    for username in ("ann", "bob"):
        ws = await connect(
            url,
            ssl=context,
            additional_headers={"Authorization": f"Bearer {tokens[username]}"},
            open_timeout=10,
            compression=None,
        )
        sockets.append(ws)
        await wait_frame(ws, "hello")
    ann, bob = sockets
    try:
        for ws in sockets:
            await ws.send(json.dumps({"type": "subscribe", "room": ROOM, "since": None}))
            await wait_frame(ws, "subscribed")
        body = f"via nginx {uuid.uuid4().hex[:8]}"
        await ann.send(
            json.dumps({"type": "send", "room": ROOM, "body": body, "client_id": "c1", "ref": "r1"})
        )
        async with asyncio.timeout(10):
            while (message := await wait_frame(bob, "message"))["body"] != body:
                pass
        assert message["author"]["username"] == "ann"
    finally:
        for ws in sockets:
            await ws.close()
    lines = wait_for_lines(stack.access_log, r'"GET /ws" 101 ', 2)
    upstreams = {line.rsplit("upstream=", 1)[1] for line in lines}
    assert upstreams == {f"127.0.0.1:{s.port}" for s in stack.servers}

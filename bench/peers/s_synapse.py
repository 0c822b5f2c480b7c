"""S: matrix-synapse from PyPI on SQLite, driven through its client-server API.

What it is: a real chat server with persistent history, so it is compared where durability
matters: W3 (one sender, one receiver, 10 msg/s; the receiver long-polls `/sync`) and W4
(acked sends per second: `PUT /rooms/{id}/send` answers after the event is persisted).
Synapse has no WebSocket: delivery is `/sync` long-polling, so fan-out to hundreds of open
clients (W1, W2, W6) does not map onto it and is not run.

Configuration (written by `write_config`): listens on 127.0.0.1 only, the client API only
(no federation listener, empty federation whitelist, no trusted key servers), no stats
reporting, no URL previews, no presence, SQLite, rate limits raised for the benchmark.
Users are registered with the shared-secret admin API.

This module is imported by bench/run.py (the project's venv, httpx); Synapse itself runs in
bench/.venv-peers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from bench.stats import Histogram

SERVER_NAME = "bench.localhost"
_LIMIT = {"per_second": 100000, "burst_count": 100000}


def write_config(workdir: Path, port: int) -> Path:
    """homeserver.yaml and log config for a loopback-only, federation-less Synapse."""
    workdir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)
    log_config = workdir / "log.yaml"
    log_config.write_text(
        "version: 1\n"
        "formatters: {f: {format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}\n"
        f"handlers: {{file: {{class: logging.FileHandler, filename: {workdir}/synapse.log, formatter: f}}}}\n"
        "root: {level: WARNING, handlers: [file]}\n"
        "disable_existing_loggers: false\n"
    )
    limits = "\n".join(
        f"{name}: {{per_second: 100000, burst_count: 100000}}"
        for name in ("rc_message", "rc_registration", "rc_joins_per_room")
    )
    config = f"""
server_name: "{SERVER_NAME}"
pid_file: {workdir}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {workdir}/homeserver.db
log_config: {log_config}
media_store_path: {workdir}/media
signing_key_path: {workdir}/signing.key
registration_shared_secret: "{secret}"
macaroon_secret_key: "{secrets.token_hex(16)}"
form_secret: "{secrets.token_hex(16)}"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
url_preview_enabled: false
federation_domain_whitelist: []
allow_public_rooms_over_federation: false
enable_metrics: false
presence:
  enabled: false
{limits}
rc_joins:
  local: {{per_second: 100000, burst_count: 100000}}
  remote: {{per_second: 100000, burst_count: 100000}}
rc_login:
  address: {{per_second: 100000, burst_count: 100000}}
  account: {{per_second: 100000, burst_count: 100000}}
  failed_attempts: {{per_second: 100000, burst_count: 100000}}
rc_room_creation: {{per_second: 100000, burst_count: 100000}}
"""
    path = workdir / "homeserver.yaml"
    path.write_text(config)
    (workdir / "secret").write_text(secret)
    return path


def command(python: str, config: Path) -> list[list[str]]:
    """The commands: generate the signing key, then run the homeserver."""
    base = [python, "-m", "synapse.app.homeserver", "--config-path", str(config)]
    return [[*base, "--generate-keys"], base]


class Client:
    """A minimal Matrix client: register (shared secret), login, room, send, sync."""

    def __init__(self, base: str, secret: str) -> None:
        self.base = base
        self.secret = secret
        self.http = httpx.AsyncClient(base_url=base, timeout=60)

    async def close(self) -> None:
        await self.http.aclose()

    async def register(self, user: str, password: str) -> str:
        path = "/_synapse/admin/v1/register"
        nonce = (await self.http.get(path)).json()["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(f"{nonce}\x00{user}\x00{password}\x00notadmin".encode())
        got = await self.http.post(
            path,
            json={
                "nonce": nonce,
                "username": user,
                "password": password,
                "admin": False,
                "mac": mac.hexdigest(),
            },
        )
        got.raise_for_status()
        return str(got.json()["access_token"])

    async def create_room(self, token: str) -> str:
        got = await self.http.post(
            "/_matrix/client/v3/createRoom",
            json={"preset": "public_chat", "name": "bench"},
            headers=_auth(token),
        )
        got.raise_for_status()
        return str(got.json()["room_id"])

    async def join(self, token: str, room_id: str) -> None:
        got = await self.http.post(f"/_matrix/client/v3/join/{room_id}", headers=_auth(token))
        got.raise_for_status()

    async def send(self, token: str, room_id: str, body: str, txn: str) -> None:
        got = await self.http.put(
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{txn}",
            json={"msgtype": "m.text", "body": body},
            headers=_auth(token),
        )
        got.raise_for_status()

    async def sync(self, token: str, since: str | None, timeout_ms: int) -> dict[str, Any]:
        params: dict[str, Any] = {"timeout": timeout_ms}
        if since:
            params["since"] = since
        got = await self.http.get("/_matrix/client/v3/sync", params=params, headers=_auth(token))
        got.raise_for_status()
        return dict(got.json())


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def wait_up(base: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get("/_matrix/client/versions")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError("synapse did not come up")


async def setup(client: Client, users: int) -> tuple[list[str], str]:
    """Register `users` users, create a room with the first, join the others."""
    tokens = [await client.register(f"bench{i}", "bench-wachtwoord") for i in range(users)]
    room = await client.create_room(tokens[0])
    for token in tokens[1:]:
        await client.join(token, room)
    return tokens, room


async def latency(
    client: Client, tokens: list[str], room: str, rate: float, duration: float
) -> dict[str, Any]:
    """W3: one sender at `rate` msg/s (open loop), one receiver long-polling /sync.

    Each call uses a new room (and a fresh /sync position): in one reused room the second
    and later runs were seconds slower, which measured our driver's history, not Synapse.
    """
    sender, receiver = tokens[0], tokens[1]
    room = await client.create_room(sender)
    await client.join(receiver, room)
    first = await client.sync(receiver, None, 0)
    since = first["next_batch"]
    total = int(rate * duration)
    hist = Histogram()
    seen: set[str] = set()
    done = asyncio.Event()

    async def receive() -> None:
        nonlocal since
        while len(seen) < total:
            got = await client.sync(receiver, since, 5000)
            since = got["next_batch"]
            now = time.perf_counter_ns() // 1000
            joined = got.get("rooms", {}).get("join", {}).get(room, {})
            for event in joined.get("timeline", {}).get("events", []):
                body = event.get("content", {}).get("body", "")
                if body.startswith("t=") and body not in seen:
                    seen.add(body)
                    hist.record(now - int(body[2 : body.index(";")]))
        done.set()

    receiver_task = asyncio.create_task(receive())
    start = time.perf_counter_ns() // 1000
    sends = []
    for n in range(total):
        at = start + int(n * 1e6 / rate)
        await asyncio.sleep(max(0.0, (at - time.perf_counter_ns() // 1000) / 1e6))
        sends.append(
            asyncio.create_task(client.send(sender, room, f"t={at};n={n};", f"w3-{start}-{n}"))
        )
    await asyncio.gather(*sends)
    try:
        await asyncio.wait_for(done.wait(), 10)
    except TimeoutError:
        receiver_task.cancel()
    return {"sent": total, "received": len(seen), "lost": total - len(seen), **hist.summary()}


async def ingest(
    client: Client, tokens: list[str], room: str, concurrency: int, duration: float
) -> dict[str, Any]:
    """W4: `concurrency` closed-loop senders; sends answered (persisted) per second."""
    hist = Histogram()
    count = 0
    stop = time.perf_counter() + duration
    start = time.perf_counter()

    async def worker(w: int) -> None:
        nonlocal count
        token = tokens[w % len(tokens)]
        n = 0
        while time.perf_counter() < stop:
            t = time.perf_counter_ns() // 1000
            await client.send(token, room, f"t={t};w={w};n={n};", f"w4-{start}-{w}-{n}")
            hist.record(time.perf_counter_ns() // 1000 - t)
            count += 1
            n += 1

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    wall = time.perf_counter() - start
    return {"acked": count, "acked_per_s": count / wall, "ack_ms": hist.summary()}

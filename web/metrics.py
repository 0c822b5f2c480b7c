"""`GET /metrics`: Prometheus text, for loopback or the bearer of `WERKPLAATS_METRICS_TOKEN`.

Anyone else gets the same 404 as for a path that does not exist. "Loopback" is the TCP
peer, and only for a request that no proxy passed on: behind a reverse proxy on the same
host every request arrives from loopback, so one that carries a forwarding header
(`X-Forwarded-For`, `Forwarded`, `X-Real-IP`) is treated as coming from outside. With
uvicorn's proxy headers enabled it replaces the peer by the forwarded address anyway.

The metrics themselves are defined in `chat.metrics`. Under `serve --workers N` the
values of every worker are read from `PROMETHEUS_MULTIPROC_DIR` and added up; a worker
that died is marked dead first (`multiprocess.mark_process_dead`), so its open
connections no longer count while its counters keep their totals.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
import re
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from chat import metrics
from web.deps import services
from web.responses import error_response

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
# prometheus-client's files of live gauges end in the writer's process id.
_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_read_metrics(
    peer: str | None, headers: Iterable[tuple[str, str]], token: str | None
) -> bool:
    """True for a loopback peer that no proxy forwarded, or for the right bearer token."""
    authorization = ""
    forwarded = False
    for name, value in headers:
        if name == "authorization":
            authorization = value
        elif name in FORWARDING_HEADERS:
            forwarded = True
    if token:
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), token.encode()
        ):
            return True
    return _is_loopback(peer) and not forwarded


def _alive(pid: int) -> bool:
    """Running: a killed worker stays a zombie until uvicorn's supervisor reaps it, and a
    zombie still answers `kill(pid, 0)`, so its state in /proc decides."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state not in ("Z", "X")


def mark_dead_workers(directory: str) -> list[int]:
    """Mark the processes whose live gauges lie in `directory` but that are gone."""
    dead = set()
    for name in os.listdir(directory):
        found = _LIVE_FILE.fullmatch(name)
        if found is not None and not _alive(int(found.group(1))):
            dead.add(int(found.group(1)))
    for pid in dead:
        # Two workers may scrape at once: the other one may have removed the files already.
        try:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except FileNotFoundError:
            pass
    return sorted(dead)


def exposition() -> bytes:
    """The metrics of this process, or of every process sharing the multiprocess directory."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory or not Path(directory).is_dir():
        return generate_latest(REGISTRY)
    mark_dead_workers(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


async def metrics_endpoint(request: Request) -> Response:
    settings = services(request).settings
    peer = request.client.host if request.client else None
    if not may_read_metrics(peer, request.headers.items(), settings.metrics_token):
        return error_response("not_found", "no such resource", 404)
    metrics.flush()
    # Reading every worker's files is file I/O: off the event loop.
    body = await asyncio.to_thread(exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

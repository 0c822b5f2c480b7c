"""Virus scanning by clamd (ClamAV's daemon) over TCP, through aioclamd.

A file is streamed to clamd (INSTREAM) from its spooled copy. Found: `Infected` (422).
clamd down, slow past the timeout, or refusing the stream: `Unavailable` (503 with
Retry-After), so that nothing is ever stored unscanned; only an operator who sets
WERKPLAATS_FILES_SCAN=false turns scanning off (docs/files.md).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aioclamd

from rooms.errors import Infected, Unavailable

log = logging.getLogger("werkplaats.files")

# A client may try again this many seconds after clamd was found down.
RETRY_AFTER = 30.0


class Scanner:
    """Scans files with clamd at `host:port`; `enabled=False` accepts every file unscanned."""

    def __init__(self, host: str, port: int, timeout: float, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.client = aioclamd.ClamdAsyncClient(host, port, timeout=timeout)
        self.where = f"{host}:{port}"

    async def scan(self, path: Path) -> None:
        """Return when clamd finds nothing; raise `Infected` or `Unavailable` otherwise."""
        if not self.enabled:
            return
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            result = await self.client.instream(handle)
        except (aioclamd.ClamdError, OSError) as exc:
            log.error("files: clamd at %s could not scan: %r", self.where, exc)
            raise Unavailable(
                "the virus scanner is not available; try again later", retry_after=RETRY_AFTER
            ) from None
        finally:
            await asyncio.to_thread(handle.close)
        status, signature = next(iter((result or {"stream": ("ERROR", None)}).values()))
        if status == "FOUND":
            log.warning("files: upload refused, clamd found %s", signature)
            raise Infected(f"the virus scanner found {signature}")
        if status != "OK":
            log.error("files: clamd at %s answered %s %s", self.where, status, signature)
            raise Unavailable("the virus scanner could not scan the file", retry_after=RETRY_AFTER)

    async def ping(self) -> bool:
        """Whether clamd answers."""
        try:
            return str(await self.client.ping()).strip() == "PONG"
        except (aioclamd.ClamdError, OSError):
            return False

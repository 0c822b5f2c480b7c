"""Virus scanning by clamd (ClamAV's daemon) over TCP, through aioclamd.

A file is streamed to clamd (INSTREAM, spoken here in 256 KiB chunks; aioclamd for the
ping) from its spooled copy. Found: `Infected` (422).
clamd down, slow past the timeout, or refusing the stream: `Unavailable` (503 with
Retry-After), so that nothing is ever stored unscanned; only an operator who sets
WERKPLAATS_FILES_SCAN=false turns scanning off (docs/files.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from pathlib import Path

import aioclamd

from rooms.errors import Infected, Unavailable

log = logging.getLogger("werkplaats.files")

# A client may try again this many seconds after clamd was found down.
RETRY_AFTER = 30.0
# Sent to clamd this much at a time (each chunk read from the spooled file in a thread).
CHUNK = 256 * 1024


class Scanner:
    """Scans files with clamd at `host:port`; `enabled=False` accepts every file unscanned."""

    def __init__(self, host: str, port: int, timeout: float, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.client = aioclamd.ClamdAsyncClient(host, port, timeout=timeout)
        self.host, self.port, self.timeout = host, port, timeout
        self.where = f"{host}:{port}"

    async def scan(self, path: Path) -> None:
        """Return when clamd finds nothing; raise `Infected` or `Unavailable` otherwise."""
        if not self.enabled:
            return
        try:
            async with asyncio.timeout(self.timeout):
                status, signature = await self._instream(path)
        except (aioclamd.ClamdError, OSError, EOFError, TimeoutError) as exc:
            log.error("files: clamd at %s could not scan: %r", self.where, exc)
            raise Unavailable(
                "the virus scanner is not available; try again later", retry_after=RETRY_AFTER
            ) from None
        if status == "FOUND":
            log.warning("files: upload refused, clamd found %s", signature)
            raise Infected(f"the virus scanner found {signature}")
        if status != "OK":
            log.error("files: clamd at %s answered %s %s", self.where, status, signature)
            raise Unavailable("the virus scanner could not scan the file", retry_after=RETRY_AFTER)

    async def _instream(self, path: Path) -> tuple[str, str | None]:
        """clamd's INSTREAM, in chunks of `CHUNK` read in a thread each (aioclamd's own
        sends 1 KiB a thread hop: ten thousand hops of the event loop for 10 MiB).
        The answer as (status, signature): ("OK", None), ("FOUND", name) or ("ERROR", text)."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(b"zINSTREAM\0")
            handle = await asyncio.to_thread(path.open, "rb")
            try:
                while chunk := await asyncio.to_thread(handle.read, CHUNK):
                    writer.write(struct.pack(">I", len(chunk)) + chunk)
                    await writer.drain()
            finally:
                await asyncio.to_thread(handle.close)
            writer.write(struct.pack(">I", 0))
            await writer.drain()
            reply = (await reader.readuntil(b"\0")).rstrip(b"\0").decode("utf-8", "replace")
        except asyncio.IncompleteReadError as exc:
            raise EOFError("clamd closed the connection") from exc
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        # "stream: OK", "stream: Eicar-Signature FOUND", "INSTREAM size limit exceeded. ERROR"
        answer = reply.removeprefix("stream: ").strip()
        if answer == "OK":
            return "OK", None
        if answer.endswith(" FOUND"):
            return "FOUND", answer.removesuffix(" FOUND")
        return "ERROR", answer

    async def ping(self) -> bool:
        """Whether clamd answers."""
        try:
            return str(await self.client.ping()).strip() == "PONG"
        except (aioclamd.ClamdError, OSError):
            return False

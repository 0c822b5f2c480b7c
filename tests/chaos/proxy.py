"""A TCP proxy the test controls: forward, cut, refuse new connections, or stall."""

from __future__ import annotations

import asyncio
import contextlib
import enum


class Mode(enum.Enum):
    OPEN = "open"  # forward both ways
    REFUSE_NEW = "refuse_new"  # connections made before keep working; new ones are closed
    STALL = "stall"  # accept, but no byte passes either way (a paused or black-holed peer)


class TcpProxy:
    """127.0.0.1:<port> -> (host, port). `cut()` closes every connection through it."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.mode = Mode.OPEN
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._open = asyncio.Event()
        self._open.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode is Mode.STALL:
            self._open.clear()
        else:
            self._open.set()

    def cut(self) -> None:
        """Reset every connection now (as a restarted or killed peer would)."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is Mode.REFUSE_NEW:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                await self._open.wait()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

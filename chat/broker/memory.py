"""The in-process broker: one process, no network; the default without a Redis URL."""

from __future__ import annotations

import asyncio

from chat.broker.base import Broker, Handler


class MemoryBroker(Broker):
    """Delivers published bytes to the handlers of this process, in the next loop turn."""

    shared = False

    def __init__(self) -> None:
        super().__init__()
        self._handlers: dict[str, list[Handler]] = {}

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, channel: str, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for handler in list(self._handlers.get(channel, ())):
            loop.call_soon(handler, data)

    async def _add(self, channel: str, handler: Handler) -> None:
        self._handlers.setdefault(channel, []).append(handler)

    async def _remove(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel, [])
        if handler in handlers:
            handlers.remove(handler)
        if not handlers:
            self._handlers.pop(channel, None)

    @property
    def healthy(self) -> bool:
        return True

"""The broker interface: best-effort fan-out of bytes between the server's processes.

A broker is at-most-once: a message published while a subscriber is disconnected is lost.
Nothing relies on it for correctness; the database's per-room seq is the truth, and the
hubs fill every gap from it (see docs/realtime.md). A broker therefore reports its state
changes, so that the hubs know when to look at the database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

Handler = Callable[[bytes], None]
"""Called in the event loop for each message; must not block (put it in a queue)."""


class BrokerListener:
    """What a broker tells its owner; the defaults do nothing."""

    def broker_down(self) -> None:
        """The connection to the broker is lost: messages may be missed from now on."""

    def broker_up(self) -> None:
        """The connection is back and every channel is subscribed again: fill the gaps."""

    def channel_resubscribed(self, channel: str) -> None:
        """One channel was subscribed again after a silent reconnect: fill its gap."""


class Broker(ABC):
    """Publish bytes on named channels; subscribers get them with a callback."""

    listener: BrokerListener
    # Whether other processes hear what is published. The in-process broker has only this
    # process to tell, which knows already: the Realtime then publishes nothing.
    shared: bool = True

    def __init__(self) -> None:
        self.listener = BrokerListener()

    @abstractmethod
    async def connect(self) -> None:
        """Start; never fails because the broker is unreachable (it retries in the background)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop and release every connection."""

    @abstractmethod
    async def publish(self, channel: str, data: bytes) -> None:
        """Send to every subscriber of the channel in every process; may raise when down."""

    @abstractmethod
    async def _add(self, channel: str, handler: Handler) -> None: ...

    @abstractmethod
    async def _remove(self, channel: str, handler: Handler) -> None: ...

    @property
    @abstractmethod
    def healthy(self) -> bool:
        """Whether messages are flowing now (False while disconnected)."""

    async def ping(self) -> bool:
        """Whether the broker answers (for /readyz)."""
        return self.healthy

    @asynccontextmanager
    async def subscribe(self, channel: str, handler: Handler) -> AsyncIterator[None]:
        """Call `handler` for each message on `channel` while the block runs.

        On entry the subscription is confirmed (when the broker is up), so a message
        published after entry reaches the handler unless the broker fails.
        """
        await self._add(channel, handler)
        try:
            yield
        finally:
            await self._remove(channel, handler)

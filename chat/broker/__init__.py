"""Brokers carry bytes between server processes; chosen by URL (none: in-process)."""

from __future__ import annotations

from chat.broker.base import Broker, BrokerListener, Handler
from chat.broker.memory import MemoryBroker


def broker_for(url: str | None, health_seconds: float = 2.0) -> Broker:
    """The in-process broker without a URL, else the Redis broker (pinged every `health_seconds`)."""
    if not url:
        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from chat.broker.redis import RedisBroker

        return RedisBroker(url, health_seconds)
    raise ValueError(f"no broker for URL scheme {url.split(':', 1)[0]!r}")


__all__ = ["Broker", "BrokerListener", "Handler", "MemoryBroker", "broker_for"]

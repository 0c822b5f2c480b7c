"""Sockets for tests and benches that need a connection but no client behind it."""

from __future__ import annotations


class NullSocket:
    """A socket that takes every frame at once and keeps none (`chat.outbound.DirectSocket`)."""

    async def send_text(self, data: str) -> None:
        return None

    async def close(self, code: int, reason: str) -> None:
        return None

    def abort(self) -> None:
        return None

    def direct(self) -> NullSocket:
        return self

    def ready(self) -> bool:
        return True

    def write_text(self, data: str) -> None:
        return None

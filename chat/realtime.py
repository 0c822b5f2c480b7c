"""The real-time hub as the HTTP side sees it (placeholder until /ws lands)."""

from __future__ import annotations

from typing import Any


class Realtime:
    """Delivers committed room events and access changes to open connections."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ready(self) -> bool:
        return True

    async def publish_event(self, room: str, frame: dict[str, Any]) -> None:
        """A room event was committed; deliver it to the room's subscribers everywhere."""
        return None

    async def access_revoked(self, room: str, user_id: int, reason: str) -> None:
        """The user may no longer read the room: `removed` on all their connections."""
        return None

    async def session_revoked(self, user_id: int, token_hash: str) -> None:
        """A session ended: close the connections that it authenticated."""
        return None

"""The connection as the rest of chat/ sees it, so that no module imports the other back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from chat.outbound import Outbound
from rooms.model import Actor


class Conn(Protocol):
    """One open `/ws` connection, as the hub, the access watch and the Realtime use it."""

    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def token_hash(self) -> str: ...
    @property
    def author(self) -> dict[str, Any]: ...
    @property
    def closed(self) -> bool: ...
    @property
    def subs(self) -> Mapping[str, object]: ...
    @property
    def outbound(self) -> Outbound: ...

    def overflow(self) -> None:
        """Too much to buffer: close it so that the client resumes from its last seq."""

    def close(self, code: int, reason: str) -> None:
        """Close it with this WebSocket code."""

    def refreshed(self, actor: Actor) -> None:
        """The user's permissions as just read from the database."""

    def removed(self, room: str, reason: str) -> None:
        """Access to the room is gone: stop its frames and say so."""

    async def finish(self) -> None:
        """The socket is gone: leave every room and stop the writer."""

"""The connection as the rest of chat/ sees it, so that no module imports the other back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from chat.frames import Author
from chat.outbound import Outbound
from rooms.model import Actor


class Conn(Protocol):
    """One open `/ws` connection (chat.connection.ClientConnection), as the hub, the access
    watch and the Realtime use it."""

    id: int
    actor: Actor
    token_hash: str
    author: Author
    outbound: Outbound

    @property
    def user_id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def subs(self) -> Mapping[str, object]: ...
    def overflow(self) -> None: ...
    def close(self, code: int, reason: str) -> None: ...
    def refreshed(self, actor: Actor) -> None: ...
    def removed(self, room: str, reason: str) -> None: ...
    async def finish(self) -> None: ...

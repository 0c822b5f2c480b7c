"""Wire forms shared by several endpoint modules."""

from __future__ import annotations

from typing import Any

from persistence.models import Room


def room_wire(room: Room) -> dict[str, Any]:
    """A room's settings as the moderation and meeting endpoints answer them."""
    return {
        "slug": room.slug,
        "name": room.name,
        "kind": room.kind,
        "topic": room.topic,
        "locked": room.locked,
        "archived": room.archived,
        "slow_mode_seconds": room.slow_mode_seconds,
        "last_seq": room.last_seq,
    }

"""Frames for one user's own connections (mentions, read markers), after commit.

`Realtime.notify_user(user_id, frame)` delivers a frame to every open connection of the
user on every process. Until the real-time hub offers it, these helpers do nothing and
say so once in the log; the counts in `GET /api/rooms` and the catch-up stay right.
"""

from __future__ import annotations

import logging
from typing import Any

from persistence.mentions import mention_deliveries
from web.deps import Services

log = logging.getLogger("werkplaats.notify")
_warned = False


async def to_user(svc: Services, user_id: int, frame: dict[str, Any]) -> bool:
    """Deliver a frame to the user's connections; False when the hub cannot yet."""
    global _warned
    notify = getattr(svc.realtime, "notify_user", None)
    if notify is None:
        if not _warned:
            log.warning("realtime has no notify_user(); mention and read frames are not pushed")
            _warned = True
        return False
    await notify(user_id, frame)
    return True


async def notify_mentions(svc: Services, room_slug: str, message_id: int) -> int:
    """After a message is committed: a `mention` frame to each mentioned reader; how many."""
    frames = await mention_deliveries(svc.db, room_slug, message_id)
    sent = 0
    for user_id, frame in frames:
        sent += await to_user(svc, user_id, frame)
    return sent

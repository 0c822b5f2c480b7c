"""What an act committed that the open connections must hear of, and the one step sending it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chat.frames import MeetingUpdated, ServerFrame
from persistence.access_changes import AccessChange
from persistence.events import StoredEvent
from web.actions.notify import MeetingNotice, notify_registered

if TYPE_CHECKING:
    from chat.realtime import Realtime

log = logging.getLogger("werkplaats.actions")


@dataclass(frozen=True, slots=True)
class Revoked:
    """The user may no longer read the room; `reason` is what `removed` tells them."""

    room: str
    user_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Published:
    """Room events (room slug, event), lost read access, access to re-check, users whose
    every session ended, notices, and meetings whose news every connection hears: what an
    act leaves for after its commit."""

    events: tuple[tuple[str, StoredEvent], ...] = ()
    revoked: tuple[Revoked, ...] = ()
    access: tuple[AccessChange, ...] = ()
    sessions_ended: tuple[int, ...] = ()
    notices: tuple[MeetingNotice, ...] = ()
    # (user id, frame): a frame for one user's own connections (`muted`)
    to_users: tuple[tuple[int, ServerFrame], ...] = ()
    updated: tuple[MeetingUpdated, ...] = ()

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.revoked
            or self.access
            or self.sessions_ended
            or self.notices
            or self.to_users
            or self.updated
        )


NOTHING = Published()


def event(room: str, ev: StoredEvent) -> Published:
    """One room event to deliver."""
    return Published(events=((room, ev),))


async def publish(realtime: Realtime, published: Published) -> None:
    """Send what an act committed; the act stands even if this fails, so a failure only logs."""
    steps: list[tuple[str, Awaitable[None]]] = []
    for room, ev in published.events:
        what = f"publishing {ev.type} seq {ev.seq} of {room}"
        steps.append((what, realtime.publish_event(room, ev)))
    for lost in published.revoked:
        what = f"access_revoked for user {lost.user_id} in {lost.room}"
        steps.append((what, realtime.access_revoked(lost.room, lost.user_id, lost.reason)))
    if published.access:
        # The database poll re-checks the same changes within a second.
        steps.append(("access_changed", realtime.access_changed(list(published.access))))
    for user_id in published.sessions_ended:
        # "*": every session of the user, on every process.
        steps.append(
            (f"session_revoked for user {user_id}", realtime.session_revoked(user_id, "*"))
        )
    for what, step in steps:
        try:
            await step
        except Exception:
            log.exception("after commit: %s failed", what)
    for user_id, frame in published.to_users:
        try:
            realtime.notify_user(user_id, frame)
        except Exception:
            log.exception(
                "after commit: a %s frame for user %d failed", type(frame).__name__, user_id
            )
    for notice in published.notices:
        try:
            notify_registered(realtime, notice)
        except Exception:
            log.exception("after commit: %s notice for %s failed", notice.kind, notice.meeting)
    for frame in published.updated:
        try:
            realtime.notify_everyone(frame)
        except Exception:
            log.exception("after commit: meeting_updated for %s failed", frame.meeting)

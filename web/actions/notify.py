"""Telling registered members about their meeting: a change, a cancellation, a move up.

`notify_registered` is the one place such news leaves the server: the member's open
connections on every process get a `notice` frame, and this process's notifier sends the
pushes (web/notify.py: level and read access checked at send time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chat.frames import Notice
from chat.notify import Notice as Push
from rooms.notify import Kind

if TYPE_CHECKING:
    from chat.realtime import Realtime


@dataclass(frozen=True, slots=True)
class MeetingNotice:
    """News about one meeting for some of its registered members."""

    user_ids: tuple[int, ...]
    kind: str  # meeting_changed, meeting_cancelled, moved_up or report_published
    meeting: str
    title: str
    body: str

    def frame(self) -> Notice:
        url = f"/bijeenkomst/{self.meeting}"
        return Notice(
            kind=self.kind, meeting=self.meeting, title=self.title, body=self.body, url=url
        )


def notify_registered(realtime: Realtime, notice: MeetingNotice) -> None:
    """Deliver the notice to each of its members (after the commit that caused it)."""
    frame = notice.frame()
    for user_id in notice.user_ids:
        realtime.notify_user(user_id, frame)
    kind: Kind = "report" if notice.kind == "report_published" else "meeting"
    url = f"/bijeenkomst/{notice.meeting}"
    realtime.notifier.notify(
        Push(notice.user_ids, kind, notice.title, notice.body, url, room=notice.meeting)
    )

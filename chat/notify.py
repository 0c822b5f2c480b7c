"""The notification entry point as the real-time side sees it: a `Notifier`.

The process that commits an event hands the notices it causes to its own notifier, after
the commit; no other process does, so each event notifies once (a crash between commit and
hand-over loses the notice: at most once). `notify` and `message_posted` only queue: they
never wait on the database or a push service. The web side's implementation is
`web.notify.Notifications`; a process without one (a CLI command) uses `NO_NOTIFIER`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from rooms.notify import Kind


@dataclass(frozen=True, slots=True)
class Notice:
    """Tell these users something: a push `{"title","body","url"}` per their room level.

    `room` (a slug) is the room the notice is about: its level applies, and a user who can
    no longer read it is told nothing. None: no room (then no level applies either).
    """

    user_ids: tuple[int, ...]
    kind: Kind
    title: str
    body: str
    url: str
    room: str | None = None


class Notifier(Protocol):
    def notify(self, notice: Notice) -> None:
        """Queue a notice; called after the commit of what it is about."""

    def message_posted(
        self,
        room: str,
        message_id: int,
        only: Collection[str] | None = None,
        personal: bool = True,
    ) -> None:
        """A message was committed (or edited, naming `only` the newly mentioned users).

        `personal`: it may concern someone personally (an `@`, a reply); when False only
        members who set the room to `all` can be concerned, which the notifier knows cheaply.
        """


class _NoNotifier:
    def notify(self, notice: Notice) -> None:
        pass

    def message_posted(
        self,
        room: str,
        message_id: int,
        only: Collection[str] | None = None,
        personal: bool = True,
    ) -> None:
        pass


NO_NOTIFIER: Notifier = _NoNotifier()

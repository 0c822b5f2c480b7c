"""Lost access takes effect on this process's open connections at once.

A change of access reaches a process three ways: from its own HTTP side (`Realtime.
access_changed`, after the commit), from another process or a CLI command through the
broker's control channel, and, whatever happened to those, from the database's access
log, polled every second (`poll`, persistence/access_changes.py). Each way ends in
`recheck`: the affected connections' sessions, permissions and subscribed rooms are read in
one batch (persistence/access_facts.py) and judged by `rooms.access.may_read`; a room that
may no longer be read gets `removed` and its subscription is dropped (no frame of it
follows: the hub, typing and presence all deliver through the hub's subscriptions), and a
connection whose session ended or whose account is disabled is closed with 1008.
A change seen twice (broker and poll) is re-checked twice; the second finds nothing to do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from chat.hub import RoomHub
from chat.outbound import CLOSE_POLICY
from chat.ports import Conn
from persistence import handshake
from persistence.access_changes import REVOKED, AccessChange, changes_between, read_version
from persistence.access_facts import read_access_facts
from persistence.db import Database
from persistence.models import utcnow
from rooms.access import may_read

log = logging.getLogger("werkplaats.access")

# Targets: for each affected connection, the rooms to check ("*": all it is subscribed to)
# and the reason its `removed` gives.
Targets = dict[Conn, tuple[set[str], str]]
# Stands for "every room the connection is subscribed to" in a target's room set.
_ALL = "*"


class Registry(Protocol):
    """The process's open connections, by user, by room and by id (the Realtime)."""

    db: Database
    by_user: dict[int, set[Conn]]
    hubs: dict[str, RoomHub]
    connections: dict[int, Conn]


class AccessWatch:
    """Follows the access log for one process and re-checks the connections it names."""

    def __init__(self, rt: Registry) -> None:
        self.rt = rt
        self.seen: int | None = None

    async def start(self) -> None:
        """Take the current version as seen: connections opened from now on are checked."""
        try:
            self.seen = await handshake.run(self.rt.db, read_version)
        except Exception:
            log.exception("access: reading the access version failed; will retry")

    async def poll(self) -> None:
        """Re-check what changed since the last poll (one primary-key read when nothing did)."""
        version = await handshake.run(self.rt.db, read_version)
        if self.seen is None or version <= self.seen:
            self.seen = version if self.seen is None else self.seen
            return
        found = await handshake.run(self.rt.db, changes_between, self.seen, version)
        changes = found.changes if found.complete else [AccessChange(reason=REVOKED)]
        await self.recheck(changes)
        self.seen = version

    async def recheck(self, changes: Sequence[AccessChange]) -> None:
        """Re-check the connections these changes may affect; `removed` or close them."""
        targets = self._targets(changes)
        if targets:
            await self._judge(targets)

    def _targets(self, changes: Iterable[AccessChange]) -> Targets:
        targets: Targets = {}

        def add(conn: Conn, rooms: set[str], reason: str) -> None:
            have = targets.get(conn)
            if have is None:
                targets[conn] = (set(rooms), reason)
            else:
                have[0].update(rooms)

        rt = self.rt
        for change in changes:
            if change.user_id is not None:
                rooms = {change.room} if change.room is not None else {_ALL}
                for conn in rt.by_user.get(change.user_id, ()):
                    add(conn, rooms, change.reason)
            elif change.room is not None:
                hub = rt.hubs.get(change.room)
                for sub in list(hub.subs.values()) if hub is not None else ():
                    add(sub.conn, {change.room}, change.reason)
            else:
                for conn in rt.connections.values():
                    add(conn, {_ALL}, change.reason)
        return targets

    async def _judge(self, targets: Targets) -> None:
        now = utcnow()
        slugs = {room for conn in targets for room in conn.subs}
        facts = await handshake.run(
            self.rt.db,
            read_access_facts,
            {conn.user_id for conn in targets},
            slugs,
            {conn.token_hash for conn in targets},
            now,
        )
        for conn, (rooms, reason) in targets.items():
            if conn.closed:
                continue
            actor = facts.actors.get(conn.user_id)
            if actor is None:
                conn.close(CLOSE_POLICY, "your account is disabled")
                continue
            if conn.token_hash not in facts.live_tokens:
                conn.close(CLOSE_POLICY, "your session ended")
                continue
            conn.refreshed(actor)
            checked = list(conn.subs) if _ALL in rooms else [r for r in rooms if r in conn.subs]
            for slug in checked:
                ref = facts.rooms.get(slug)
                ban = facts.bans.get((ref.id, actor.user_id)) if ref is not None else None
                if ref is None or not may_read(actor, ref, ban, now):
                    conn.removed(slug, reason)

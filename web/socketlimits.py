"""Open WebSockets counted per user and per address; one more than allowed is refused.

A person has a few tabs and devices open; an office behind one NAT address has some dozens
of people. `WERKPLAATS_WS_MAX_PER_USER` (20) and `WERKPLAATS_WS_MAX_PER_ADDRESS` (200) are
far above both, and far below what one client could otherwise hold (each socket costs the
server a task, queues and a share of every fan-out). `/ws` claims a place for the address
before anything else and for the user once the session is known, and gives both back when
the socket ends, however it ends; an upgrade past either limit is answered 429
`rate_limited` with `Retry-After`, before the WebSocket opens.

The counts are per process. Counting across processes (in Redis) would put a round trip on
every upgrade of a reconnect storm, and its counters would have to survive a process that
dies with sockets open; a balancer that spreads one user's sockets over N processes lets
that user hold at most N times the limit, which still bounds what one client can take.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable

# A socket frees a place when it closes: a client may try again soon.
RETRY_AFTER = 10.0


class SocketLimits:
    """The open sockets of this process per user and per address, against their limits."""

    __slots__ = ("by_address", "by_user", "per_address", "per_user")

    def __init__(self, per_user: int, per_address: int) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.by_user: Counter[Hashable] = Counter()
        self.by_address: Counter[Hashable] = Counter()

    def claim(self, address: str) -> Claim | None:
        """A place for one more socket from `address`, or None when it has its limit."""
        if not _take(self.by_address, address, self.per_address):
            return None
        return Claim(self, address)


class Claim:
    """One socket's places: its address's, and its user's once known; released once."""

    __slots__ = ("address", "limits", "released", "user_id")

    def __init__(self, limits: SocketLimits, address: str) -> None:
        self.limits = limits
        self.address = address
        self.user_id: int | None = None
        self.released = False

    def add_user(self, user_id: int) -> bool:
        """Take a place for the user too; False (and nothing taken) at the user's limit."""
        if not _take(self.limits.by_user, user_id, self.limits.per_user):
            return False
        self.user_id = user_id
        return True

    def release(self) -> None:
        """Give the places back (a second call does nothing)."""
        if self.released:
            return
        self.released = True
        _give(self.limits.by_address, self.address)
        if self.user_id is not None:
            _give(self.limits.by_user, self.user_id)


def _take(counts: Counter[Hashable], key: Hashable, limit: int) -> bool:
    if counts[key] >= limit:
        return False
    counts[key] += 1
    return True


def _give(counts: Counter[Hashable], key: Hashable) -> None:
    counts[key] -= 1
    # An address or user with no socket left takes no memory.
    if counts[key] <= 0:
        del counts[key]

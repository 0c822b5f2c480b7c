"""Who hears about what: a room's notification level against the kind of a notice.

`mentions` (the default) means: what is addressed to the member personally (a mention, a
reply to their message, an actiepunt given to them, a change of a meeting they registered
for, a report they wait for). `all` adds every new message of the room; `none` silences the
room entirely, personal notices included.
"""

from __future__ import annotations

from typing import Literal, get_args

Level = Literal["all", "mentions", "none"]
Kind = Literal["mention", "reply", "assigned", "meeting", "report", "message"]

LEVELS: tuple[Level, ...] = get_args(Level)
KINDS: tuple[Kind, ...] = get_args(Kind)
DEFAULT_LEVEL: Level = "mentions"

# Level → the kinds of notice it lets through.
_HEARS: dict[Level, frozenset[Kind]] = {
    "all": frozenset(KINDS),
    "mentions": frozenset(KINDS) - {"message"},
    "none": frozenset(),
}
# Kinds that also go out by e-mail when still unseen after a while (issue 27: "what waits").
MAILED: frozenset[Kind] = frozenset({"mention", "assigned"})


def hears(level: Level, kind: Kind) -> bool:
    """Whether a member with this room level is told about a notice of this kind."""
    return kind in _HEARS[level]


def message_url(slug: str, seq: int) -> str:
    """The web client's address of one message (web/static/js/router.js), for pushes and mails."""
    return f"/kamer/{slug}?seq={seq}"

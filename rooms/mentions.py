"""`@username` mentions in a message body, safe around Dutch punctuation.

A mention starts at `@` that does not follow a letter, digit, `@`, `/` or `.` (so an
e-mail address or a URL path is no mention) and takes the longest username it can;
trailing `.`, `-` and `_` belong to the sentence, not the name ("Klopt dat, @ann.").
Quotes, brackets and apostrophes end a name: „@ann”, (@ann), @ann's.
"""

from __future__ import annotations

import re

from rooms.model import USERNAME_RE

MAX_MENTIONS = 20
_MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9._-]{2,40})")
_TRAILING = "._-"


def mentioned_usernames(body: str) -> list[str]:
    """The usernames mentioned in the body, lower-cased, in order, each once (at most 20)."""
    found: list[str] = []
    if "@" not in body:  # most messages: every send and its activity note ask
        return found
    for match in _MENTION.finditer(body):
        name = match.group(1).rstrip(_TRAILING).lower()
        if USERNAME_RE.fullmatch(name) and name not in found:
            found.append(name)
            if len(found) == MAX_MENTIONS:
                break
    return found


def mentions(body: str, username: str) -> bool:
    """Whether the body mentions this user."""
    return username.lower() in mentioned_usernames(body)


def excerpt(body: str, limit: int = 160) -> str:
    """One line of the body for lists and e-mails, cut at a word with an ellipsis."""
    line = " ".join(body.split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0] or line[:limit]
    return cut + "…"

"""Polls: a question with 2 to 10 options, single or multiple choice, anonymous or named,
optionally closing at a time. Pure rules; storage is `persistence.polls`.

An anonymous poll stores each ballot under a key derived from the server's ballot secret
(random, kept in the database: `persistence.polls.ballot_secret`), the poll and the voter
(`ballot_key`), never under the voter's id: the database, an export or a
moderator can count the ballots and see their choices, but not tell whose they are, while
the voter can still change theirs until the poll closes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime

from rooms.errors import BadRequest, Conflict
from rooms.text import clean

MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_QUESTION_CHARS = 300
MAX_OPTION_CHARS = 100


def _text(raw: str, what: str, limit: int) -> str:
    value = " ".join(clean(raw).split())
    if not value:
        raise BadRequest(f"{what} is empty")
    if len(value) > limit:
        raise BadRequest(f"{what} is over {limit} characters")
    return value


def check_poll(
    question: str, options: Sequence[str], closes_at: datetime | None, now: datetime
) -> tuple[str, list[str]]:
    """The question and options cleaned; BadRequest for fewer than 2 or more than 10
    options, a repeated option, or a closing time in the past."""
    q = _text(question, "question", MAX_QUESTION_CHARS)
    opts = [_text(o, f"option {i + 1}", MAX_OPTION_CHARS) for i, o in enumerate(options)]
    if not MIN_OPTIONS <= len(opts) <= MAX_OPTIONS:
        raise BadRequest(f"a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options")
    if len(set(opts)) != len(opts):
        raise BadRequest("options must differ")
    if closes_at is not None and closes_at <= now:
        raise BadRequest("closes_at is in the past")
    return q, opts


def check_choices(choices: Sequence[int], options: int, multiple: bool) -> list[int]:
    """The chosen option indexes, sorted and once each; none withdraws the vote."""
    chosen = sorted(set(choices))
    if any(not 0 <= c < options for c in chosen):
        raise BadRequest(f"choices are option numbers 0 to {options - 1}")
    if len(chosen) > 1 and not multiple:
        raise BadRequest("this poll takes one choice")
    return chosen


def check_open(closes_at: datetime | None, closed: bool, now: datetime) -> None:
    if closed or (closes_at is not None and closes_at <= now):
        raise Conflict("the poll is closed")


# The least key length that `ballot_key` takes (the server's is 64 hex digits).
MIN_SECRET_CHARS = 32


def ballot_key(secret: str, poll_id: int, user_id: int, anonymous: bool) -> str:
    """Where a voter's ballot is kept: the user id for a named poll, else a hash keyed with
    the server's ballot secret. No default key: with a known one, anyone could hash every
    user id and read who chose what."""
    if not anonymous:
        return f"u{user_id}"
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError("an anonymous ballot needs the server's ballot secret")
    message = f"poll:{poll_id}:user:{user_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def tally(ballots: Iterable[Sequence[int]], options: int) -> list[int]:
    """Votes per option."""
    counts = [0] * options
    for chosen in ballots:
        for c in chosen:
            if 0 <= c < options:
                counts[c] += 1
    return counts

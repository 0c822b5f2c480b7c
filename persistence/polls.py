"""Polls as stored: the poll, its ballots, and its results as one dict for events and the API."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.db import Database
from persistence.events import iso
from persistence.models import Poll, PollBallot, ServerSecret, User, utcnow
from rooms.polls import tally

MAX_POLLS_LISTED = 50
# The `server_secrets` row whose value keys anonymous ballots (`rooms.polls.ballot_key`).
BALLOT_SECRET = "ballots"


class _BallotSecret:
    """The ballot key once read, per database (`Database.part`): it never changes."""

    value: str | None = None


async def ballot_secret(db: Database) -> str:
    """The key of anonymous ballots: random, made by the first process to need it and kept
    in the database (as the VAPID key is), so it is the same for every process, survives a
    restart and a restored backup, and does not change with `WERKPLAATS_SECRET_KEY`.
    Nothing serves it: no API, export or moderator screen can link a ballot to its voter."""
    kept = db.part(_BallotSecret)
    if kept.value is not None:
        return kept.value
    async with db.read() as session:
        found = await session.get(ServerSecret, BALLOT_SECRET)
    if found is None:
        try:
            async with db.write() as session:
                session.add(
                    ServerSecret(
                        name=BALLOT_SECRET, value=secrets.token_hex(32), created_at=utcnow()
                    )
                )
        except IntegrityError:
            pass  # another process made it first: use that one
        async with db.read() as session:
            found = await session.get(ServerSecret, BALLOT_SECRET)
    assert found is not None
    kept.value = found.value
    return found.value


async def poll_in_room(session: AsyncSession, room_id: int, poll_id: int) -> Poll | None:
    found = await session.get(Poll, poll_id)
    return found if found is not None and found.room_id == room_id else None


async def set_ballot(
    session: AsyncSession,
    poll: Poll,
    voter: str,
    user_id: int | None,
    choices: list[int],
    at: datetime,
) -> bool:
    """Store (or replace, or with no choices withdraw) a ballot; whether anything changed."""  # fmt: skip
    ballot = await session.get(PollBallot, (poll.id, voter))
    if ballot is not None and list(ballot.choices) == choices:
        return False
    if ballot is None and not choices:
        return False
    if ballot is None:
        session.add(
            PollBallot(poll_id=poll.id, voter=voter, user_id=user_id, choices=choices, at=at)
        )
    elif not choices:
        await session.delete(ballot)
    else:
        ballot.choices = choices
        ballot.at = at
    await session.flush()
    return True


async def results(session: AsyncSession, poll: Poll, now: datetime) -> dict[str, Any]:
    """The poll and its results now: counts per option, voters, and (named polls only) who
    chose what. Events carry this whole, so the last one seen is the truth."""
    rows = (
        await session.execute(
            select(PollBallot.choices, User.username)
            .outerjoin(User, User.id == PollBallot.user_id)
            .where(PollBallot.poll_id == poll.id)
            .order_by(PollBallot.at, PollBallot.voter)
        )
    ).all()
    options = list(poll.options)
    found: dict[str, Any] = {
        "poll_id": poll.id,
        "question": poll.question,
        "options": options,
        "multiple": poll.multiple,
        "anonymous": poll.anonymous,
        "closes_at": iso(poll.closes_at),
        "closed": poll.closes_at is not None and poll.closes_at <= now,
        "counts": tally((list(c) for c, _ in rows), len(options)),
        "voters": len(rows),
    }
    if not poll.anonymous:
        votes: dict[str, list[str]] = {str(i): [] for i in range(len(options))}
        for chosen, username in rows:
            for c in chosen:
                votes[str(c)].append(username)
        found["votes"] = votes
    return found


async def room_polls(session: AsyncSession, room_id: int, now: datetime) -> list[dict[str, Any]]:
    """The room's polls with their results, the newest first."""
    polls = (
        await session.execute(
            select(Poll)
            .where(Poll.room_id == room_id)
            .order_by(Poll.id.desc())
            .limit(MAX_POLLS_LISTED)
        )
    ).scalars()
    return [await results(session, p, now) for p in polls]


async def my_choices(session: AsyncSession, poll_id: int, voter: str) -> list[int]:
    ballot = await session.get(PollBallot, (poll_id, voter))
    return [] if ballot is None else list(ballot.choices)

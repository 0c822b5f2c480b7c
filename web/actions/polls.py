"""Poll acts: create one, vote. Both are room events carrying the poll's whole results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from persistence import events
from persistence.db import Database
from persistence.models import Poll, utcnow
from persistence.polls import ballot_secret, poll_in_room, results, set_ballot
from persistence.rooms import ban_of, mute_of, room_ref
from rooms.access import check_post
from rooms.errors import NotFound
from rooms.model import Actor
from rooms.polls import ballot_key, check_choices, check_open, check_poll
from web.actions.common import find_room
from web.actions.publish import NOTHING, Published, event


@dataclass(frozen=True, slots=True)
class NewPoll:
    question: str
    options: list[str]
    multiple: bool
    anonymous: bool
    closes_at: datetime | None


async def create(
    db: Database, actor: Actor, slug: str, new: NewPoll
) -> tuple[dict[str, Any], Published]:
    """Anyone who may post opens a poll: the `poll_created` event."""
    now = utcnow()
    question, options = check_poll(new.question, new.options, new.closes_at, now)
    async with db.write() as session:
        room = await find_room(session, slug)
        check_post(actor, room_ref(room), await ban_of(session, room.id, actor.user_id),
                   await mute_of(session, room.id, actor.user_id), now)  # fmt: skip
        poll = Poll(room_id=room.id, question=question, options=options, multiple=new.multiple,
                    anonymous=new.anonymous, closes_at=new.closes_at, created_by_id=actor.user_id,
                    created_at=now)  # fmt: skip
        session.add(poll)
        await session.flush()
        found = await results(session, poll, now)
        created = await events.append_event(
            session, room.id, "poll_created", actor_id=actor.user_id,
            data={"by": actor.username, **found}, at=now,
        )  # fmt: skip
        stored = events.stored_event(created)
    return found, event(room.slug, stored)


async def vote(
    db: Database, actor: Actor, slug: str, poll_id: int, choices: list[int]
) -> tuple[dict[str, Any], list[int], Published]:
    """Cast, change or (no choices) withdraw the actor's vote until the poll closes: a
    `poll_votes` event with the results after it, when anything changed. An anonymous
    vote's event names no voter, and its row no actor."""
    secret = await ballot_secret(db)
    now = utcnow()
    async with db.write() as session:
        room = await find_room(session, slug)
        check_post(actor, room_ref(room), await ban_of(session, room.id, actor.user_id),
                   await mute_of(session, room.id, actor.user_id), now)  # fmt: skip
        poll = await poll_in_room(session, room.id, poll_id)
        if poll is None:
            raise NotFound(f"no poll {poll_id} in room {room.slug}")
        check_open(poll.closes_at, False, now)
        chosen = check_choices(choices, len(poll.options), poll.multiple)
        voter = ballot_key(secret, poll.id, actor.user_id, poll.anonymous)
        user_id = None if poll.anonymous else actor.user_id
        if not await set_ballot(session, poll, voter, user_id, chosen, now):
            return await results(session, poll, now), chosen, NOTHING
        found = await results(session, poll, now)
        data: dict[str, Any] = {k: found[k] for k in ("counts", "voters", "votes") if k in found}
        if not poll.anonymous:
            data["by"] = actor.username
        voted = await events.append_event(
            session, room.id, "poll_votes", actor_id=user_id, data={"poll_id": poll.id, **data},
            at=now,
        )  # fmt: skip
        stored = events.stored_event(voted)
    return found, chosen, event(room.slug, stored)

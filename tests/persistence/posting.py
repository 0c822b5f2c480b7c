"""Storing messages in tests through the real send path (`chat.store.store_sends`)."""

from __future__ import annotations

from datetime import datetime

from chat.store import store_sends
from persistence.accounts import actor_for, user_by_name
from persistence.db import Database
from persistence.models import utcnow
from persistence.sends import Send, Stored
from rooms.errors import DomainError


async def post_all(
    db: Database,
    posts: list[tuple[str, str, str, str]],
    *,
    reply_to: int | None = None,
    at: datetime | None = None,
) -> list[Stored]:
    """Store (room slug, username, body, client_id) messages in order in one batch; a
    refusal raises."""
    async with db.read() as session:
        actors = {}
        for username in {p[1] for p in posts}:
            user = await user_by_name(session, username)
            assert user is not None, username
            actors[username] = await actor_for(session, user)
    when = at or utcnow()
    sends = [Send(actors[u], slug, body, cid, reply_to, when) for slug, u, body, cid in posts]
    stored = []
    for result in await store_sends(db, sends):
        if isinstance(result, DomainError):
            raise result
        stored.append(result)
    return stored


async def post(
    db: Database,
    slug: str,
    username: str,
    body: str,
    client_id: str,
    *,
    reply_to: int | None = None,
    at: datetime | None = None,
) -> Stored:
    """Store one message as `username` in room `slug`; a refusal raises."""
    [stored] = await post_all(db, [(slug, username, body, client_id)], reply_to=reply_to, at=at)
    return stored

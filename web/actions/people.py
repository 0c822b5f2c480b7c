"""The person picker: people the asker shares a room with, found by name."""

from __future__ import annotations

from chat import reads
from persistence import people as repo
from persistence.db import Database
from persistence.models import User
from persistence.rooms import room_ref
from rooms.model import Actor
from rooms.people import MAX_PEOPLE, people_scope


async def find_people(
    db: Database, actor: Actor, query: str, room: str | None, limit: int = MAX_PEOPLE
) -> list[User]:
    """Up to `limit` people matching `query` whom the actor may see: in `room` (which the
    actor must read) or in any room the actor reads."""
    async with db.read() as session:
        if room is not None:
            refs = [room_ref(await reads.readable_room(session, actor, room))]
        else:
            refs = await repo.readable_refs(session, actor)
        scope = people_scope(refs)
        if scope is not None and not scope:
            return []
        with_staff = any(repo.staff_read(r.kind) for r in refs)
        return await repo.matching_people(
            session, query, room_ids=scope, with_staff=with_staff, limit=min(limit, MAX_PEOPLE)
        )

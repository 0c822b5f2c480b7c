"""Keeping the glossary: moderators and admins add and remove entries (docs/search.md).

Every change is in the audit log, in the change's own transaction: who (the actor and
address), what (`glossary_add`, `glossary_remove`, the entry's id as target) and the
entry before and after (`details`: term, means, before, after)."""

from __future__ import annotations

from persistence import glossary
from persistence.db import Database
from persistence.models import GlossaryEntry
from persistence.moderation import record
from rooms.errors import BadRequest, Conflict, NotFound
from rooms.model import Actor
from rooms.publications import check_staff
from rooms.text import clean
from web.actions.common import Acting


async def list_entries(db: Database, actor: Actor) -> list[GlossaryEntry]:
    """Every entry; anyone signed in may read them (search uses them for everyone)."""
    async with db.read() as session:
        return await glossary.all_entries(session)


def _pair(term: str, means: str) -> dict[str, str]:
    return {"term": term, "means": means}


async def add_entry(db: Database, acting: Acting, term: str, means: str) -> GlossaryEntry:
    """Add `term` ↔ `means`; moderators and admins only; the same pair twice is a conflict."""
    if acting.actor is not None:
        check_staff(acting.actor)
    term, means = clean(term).strip(), clean(means).strip()
    if not term or not means:
        raise BadRequest("term and means must not be empty")
    if term.casefold() == means.casefold():
        raise BadRequest("term and means must differ")
    async with db.write() as session:
        entry = await glossary.add(
            session, term, means, acting.actor.user_id if acting.actor else None
        )
        if entry is not None:
            await record(
                session,
                acting.source,
                "glossary_add",
                target=str(entry.id),
                details={**_pair(term, means), "before": None, "after": _pair(term, means)},
            )
    if entry is None:
        raise Conflict(f"the glossary has {term!r} = {means!r} already")
    return entry


async def remove_entry(db: Database, acting: Acting, entry_id: int) -> None:
    if acting.actor is not None:
        check_staff(acting.actor)
    async with db.write() as session:
        gone = await glossary.remove(session, entry_id)
        if gone is None:
            raise NotFound(f"no glossary entry {entry_id}")
        before = _pair(gone.term, gone.means)
        await record(
            session,
            acting.source,
            "glossary_remove",
            target=str(entry_id),
            details={**before, "before": before, "after": None},
        )

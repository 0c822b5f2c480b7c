"""Keeping the glossary: moderators and admins add and remove entries (docs/search.md)."""

from __future__ import annotations

from persistence import glossary
from persistence.db import Database
from persistence.models import GlossaryEntry
from rooms.errors import BadRequest, Conflict, NotFound
from rooms.model import Actor
from rooms.publications import check_staff
from rooms.text import clean


async def list_entries(db: Database, actor: Actor) -> list[GlossaryEntry]:
    """Every entry; anyone signed in may read them (search uses them for everyone)."""
    async with db.read() as session:
        return await glossary.all_entries(session)


async def add_entry(db: Database, actor: Actor, term: str, means: str) -> GlossaryEntry:
    """Add `term` ↔ `means`; moderators and admins only; the same pair twice is a conflict."""
    check_staff(actor)
    term, means = clean(term).strip(), clean(means).strip()
    if not term or not means:
        raise BadRequest("term and means must not be empty")
    if term.casefold() == means.casefold():
        raise BadRequest("term and means must differ")
    async with db.write() as session:
        entry = await glossary.add(session, term, means, actor.user_id)
    if entry is None:
        raise Conflict(f"the glossary has {term!r} = {means!r} already")
    return entry


async def remove_entry(db: Database, actor: Actor, entry_id: int) -> None:
    check_staff(actor)
    async with db.write() as session:
        if not await glossary.remove(session, entry_id):
            raise NotFound(f"no glossary entry {entry_id}")

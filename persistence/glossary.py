"""The glossary's rows: moderators' abbreviations and synonyms (persistence/search/glossary.py
uses them to widen queries). Repositories take a session and never commit."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import GlossaryEntry


async def all_entries(session: AsyncSession) -> list[GlossaryEntry]:
    stmt = select(GlossaryEntry).order_by(GlossaryEntry.term, GlossaryEntry.means)
    return list((await session.execute(stmt)).scalars())


async def add(
    session: AsyncSession, term: str, means: str, by_id: int | None
) -> GlossaryEntry | None:
    """Add an entry; None when the same pair is there already (so `load` is idempotent)."""
    found = await session.execute(
        select(GlossaryEntry.id).where(GlossaryEntry.term == term, GlossaryEntry.means == means)
    )
    if found.first() is not None:
        return None
    entry = GlossaryEntry(term=term, means=means, created_by_id=by_id)
    session.add(entry)
    await session.flush()
    return entry


async def remove(session: AsyncSession, entry_id: int) -> GlossaryEntry | None:
    """Delete an entry; the entry as it was (for the audit log), None if there was none."""
    entry = await session.get(GlossaryEntry, entry_id)
    if entry is None:
        return None
    await session.execute(delete(GlossaryEntry).where(GlossaryEntry.id == entry_id))
    return entry

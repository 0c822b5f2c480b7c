"""Publications storage: the cards, their listed authors' answers, the quoted messages, and
the public list's query. Repositories take the caller's session and never commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from persistence.models import (
    Meeting,
    Message,
    Publication,
    PublicationAuthor,
    PublicationQuote,
    Room,
    Theme,
    User,
)
from persistence.moderation import Source, record

PUBLISHED = "published"
PENDING = "pending"


@dataclass(frozen=True, slots=True)
class PublicFilters:
    """What an outsider narrows the public list by; empty strings mean no filter."""

    theme: str = ""
    area: str = ""
    layer: str = ""
    # Lower-cased words, each of which the published text must contain.
    words: tuple[str, ...] = ()


async def get(
    session: AsyncSession, publication_id: int, *, lock: bool = False
) -> Publication | None:
    query = select(Publication).where(Publication.id == publication_id)
    return (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


async def visible_messages(
    session: AsyncSession, room_id: int, message_ids: Collection[int]
) -> dict[int, Message]:
    """The messages of the room among `message_ids` that are still shown (not hidden, not purged)."""
    rows = await session.execute(
        select(Message).where(
            Message.room_id == room_id,
            Message.id.in_(list(message_ids)),
            Message.hidden.is_(False),
            Message.purged_at.is_(None),
        )
    )
    return {m.id: m for m in rows.scalars()}


async def author_of(
    session: AsyncSession, publication_id: int, user_id: int
) -> PublicationAuthor | None:
    return await session.get(PublicationAuthor, (publication_id, user_id))


async def authors_of(
    session: AsyncSession, publication_ids: Collection[int]
) -> dict[int, list[tuple[PublicationAuthor, User]]]:
    """Each publication's listed authors with their user rows, in the order they were listed."""
    found: dict[int, list[tuple[PublicationAuthor, User]]] = {i: [] for i in publication_ids}
    if not found:
        return found
    rows = await session.execute(
        select(PublicationAuthor, User)
        .join(User, User.id == PublicationAuthor.user_id)
        .where(PublicationAuthor.publication_id.in_(list(found)))
        .order_by(PublicationAuthor.publication_id, User.id)
    )
    for author, user in rows.all():
        found[author.publication_id].append((author, user))
    return found


async def quotes_of(session: AsyncSession, publication_id: int) -> list[PublicationQuote]:
    rows = await session.execute(
        select(PublicationQuote)
        .where(PublicationQuote.publication_id == publication_id)
        .order_by(PublicationQuote.position)
    )
    return list(rows.scalars())


async def sources(session: AsyncSession, publication: Publication) -> tuple[str | None, str | None]:
    """The slugs of the room and the meeting the publication came from (internal only)."""
    room = await session.get(Room, publication.room_id) if publication.room_id else None
    meeting = await session.get(Meeting, publication.meeting_id) if publication.meeting_id else None
    return (room.slug if room else None, meeting.slug if meeting else None)


async def listed_for(
    session: AsyncSession, user_id: int, *, pending_only: bool, limit: int
) -> list[Publication]:
    """Publications that list the user as an author, newest first; `pending_only`: those
    still pending that the user has not answered yet (what the client's badge counts)."""
    query = (
        select(Publication)
        .join(PublicationAuthor, PublicationAuthor.publication_id == Publication.id)
        .where(PublicationAuthor.user_id == user_id)
        .order_by(Publication.id.desc())
        .limit(limit)
    )
    if pending_only:
        query = query.where(Publication.status == PENDING, PublicationAuthor.consent.is_(None))
    return list((await session.execute(query)).scalars())


async def created_by(session: AsyncSession, user_id: int, *, limit: int) -> list[Publication]:
    """Publications the user made, newest first (a moderator's own list)."""
    query = (
        select(Publication)
        .where(Publication.created_by_id == user_id)
        .order_by(Publication.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


def _public(filters: PublicFilters) -> Select[Any]:
    query = select(Publication).where(Publication.status == PUBLISHED)
    if filters.theme:
        query = query.where(Publication.theme == filters.theme)
    if filters.area:
        query = query.where(Publication.area == filters.area)
    if filters.layer:
        query = query.where(Publication.layers.contains(f",{filters.layer},", autoescape=True))
    for word in filters.words:
        query = query.where(Publication.search_text.contains(word, autoescape=True))
    return query


async def public_page(
    session: AsyncSession, filters: PublicFilters, *, limit: int, offset: int, count: bool = True
) -> tuple[list[Publication], int]:
    """One page of the published publications, newest first, and (with `count`) how many
    match in all."""
    # Counted apart: a window count over the page's query would sort every match first,
    # where the page alone walks the (status, published_at) index and stops at `limit`.
    query = _public(filters)
    total = 0
    if count:
        found = await session.execute(select(func.count()).select_from(query.subquery()))
        total = int(found.scalar_one())
    page = (
        query.options(defer(Publication.search_text))
        .order_by(Publication.published_at.desc(), Publication.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(page)).scalars()), total


async def public_labels(session: AsyncSession) -> tuple[list[str], list[str]]:
    """The themes and the areas that published publications name (the filters' choices)."""
    rows = await session.execute(
        select(Publication.theme, Publication.area)
        .where(Publication.status == PUBLISHED)
        .distinct()
    )
    pairs = rows.all()
    return sorted({t for t, _ in pairs if t}), sorted({a for _, a in pairs if a})


def add_authors(
    session: AsyncSession, publication_id: int, user_ids: Sequence[int]
) -> list[PublicationAuthor]:
    rows = [PublicationAuthor(publication_id=publication_id, user_id=u) for u in user_ids]
    session.add_all(rows)
    return rows


def add_quotes(session: AsyncSession, publication_id: int, messages: Sequence[Message]) -> None:
    session.add_all(
        PublicationQuote(
            publication_id=publication_id,
            position=n,
            message_id=m.id,
            author_id=m.author_id,
            body=m.body,
            written_at=m.created_at,
        )
        for n, m in enumerate(messages, 1)
    )


async def live_of_meeting(session: AsyncSession, meeting_id: int) -> Publication | None:
    """The meeting's verslag publication that is pending or published, if there is one."""
    query = select(Publication).where(
        Publication.meeting_id == meeting_id, Publication.status != "withdrawn"
    )
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def meeting_context(
    session: AsyncSession, slug: str
) -> tuple[Meeting, str, int | None] | None:
    """The meeting, its theme's name and its room's id (for a verslag's publication)."""
    found = (
        await session.execute(select(Meeting).where(Meeting.slug == slug))
    ).scalar_one_or_none()
    if found is None:
        return None
    theme = (
        (await session.execute(select(Theme.name).where(Theme.id == found.theme_id))).scalar()
        if found.theme_id
        else None
    )
    room = (await session.execute(select(Room.id).where(Room.meeting_id == found.id))).scalar()
    return found, theme or "", room


async def withdraw_quoting(
    session: AsyncSession, message: Message, by: str, now: datetime
) -> list[int]:
    """Withdraw the pending and published lessons that quote a message being hidden or
    retracted: consent was given to a text that is no longer shown. Audited per lesson."""
    quoting = select(PublicationQuote.publication_id).where(
        PublicationQuote.message_id == message.id
    )
    ids = list(
        (
            await session.execute(
                update(Publication)
                .where(Publication.id.in_(quoting), Publication.status.in_([PENDING, PUBLISHED]))
                .values(status="withdrawn", withdrawn_at=now)
                .returning(Publication.id)
            )
        ).scalars()
    )
    room = (await session.execute(select(Room.slug).where(Room.id == message.room_id))).scalar()
    for publication_id in ids:
        await record(
            session,
            Source(by, "-"),
            "publication_withdraw",
            room=room,
            target=f"publication:{publication_id}",
            reason="quoted message hidden",
            details={"message_id": message.id},
            at=now,
        )
    return ids


async def people(session: AsyncSession) -> list[tuple[str, str, str, str]]:
    """Every account as (username, display name, organisation, layer): whose names the
    public text reduces (rooms/redact.py)."""
    rows = await session.execute(
        select(User.username, User.display_name, User.organisation, User.layer)
    )
    return [(u, n, o, layer) for u, n, o, layer in rows.all()]

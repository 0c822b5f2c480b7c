"""Publication acts: make a lesson card, answer a consent request, withdraw, list.

Each writes its audit entry in the same transaction as the act; a publication that every
listed author has agreed to becomes `published` in the transaction of the last consent,
and one withdrawn is gone from the public pages as soon as that transaction commits (the
pages read the database on every request, revalidated by ETag).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chat.frames import PublicationRequest
from persistence import moderation as audit
from persistence import publications as repo
from persistence.db import Database
from persistence.models import (
    Message,
    Publication,
    PublicationAuthor,
    PublicationQuote,
    Room,
    User,
    utcnow,
)
from persistence.reports import published_report
from persistence.rooms import ban_of, room_ref
from rooms import publications as rules
from rooms.access import check_read
from rooms.errors import Conflict, Forbidden, NotFound
from rooms.model import Actor
from rooms.publications import Kind, Lesson, Status
from web.actions.common import Acting, find_room
from web.actions.publish import Published

MAX_LISTED = 200


@dataclass(frozen=True, slots=True)
class View:
    """A publication with what its wire form and its pages need."""

    publication: Publication
    authors: list[tuple[PublicationAuthor, User]]
    quotes: list[PublicationQuote]
    room: str | None
    meeting: str | None


async def view_of(session: AsyncSession, publication: Publication) -> View:
    authors = (await repo.authors_of(session, [publication.id]))[publication.id]
    quotes = await repo.quotes_of(session, publication.id)
    room, meeting = await repo.sources(session, publication)
    return View(publication, authors, quotes, room, meeting)


def told(view: View, change: str) -> Published:
    """What every listed author's open connections hear of a change, on every process: a
    `publication_request` frame (docs/protocol.md), after the commit."""
    p = view.publication
    frame = PublicationRequest(publication=p.id, change=change, status=p.status)
    return Published(to_users=tuple((u.id, frame) for _, u in view.authors))


def _member(acting: Acting) -> Actor:
    assert acting.actor is not None  # publications are made and answered by members
    return acting.actor


def _target(publication_id: int) -> str:
    return f"publication:{publication_id}"


async def create_lesson(
    db: Database, acting: Acting, lesson: Lesson, slug: str, message_ids: tuple[int, ...]
) -> tuple[View, Published]:
    """A pending lesson card quoting `message_ids` of room `slug`; its authors are asked."""
    actor = _member(acting)
    lesson = rules.check_lesson(lesson)
    ids = rules.check_quotes(message_ids)
    async with db.write() as session:
        room = await find_room(session, slug, lock=False)
        check_read(actor, room_ref(room), await ban_of(session, room.id, actor.user_id), utcnow())
        rules.check_may_publish_from(actor, room_ref(room))
        found = await repo.visible_messages(session, room.id, ids)
        if missing := [i for i in ids if i not in found]:
            raise NotFound(f"no visible message {missing[0]} in room {room.slug}")
        messages = [found[i] for i in ids]
        redact = rules.redactor_of(await repo.people(session)).text
        publication = _draft(
            lesson, Kind.LESSON, actor, room.id, [m.body for m in messages], redact
        )
        authors = list(dict.fromkeys(m.author_id for m in messages))
        details = {"kind": Kind.LESSON, "message_ids": list(ids), "authors": authors}
        view = await _offer(session, acting, publication, authors, room.slug, details, messages)
    return view, told(view, "requested")


def _draft(
    lesson: Lesson,
    kind: Kind,
    actor: Actor,
    room_id: int | None,
    quoted: list[str],
    redact: Callable[[str], str],
) -> Publication:
    """A pending publication of the lesson (or a verslag in a lesson's shape)."""
    return Publication(
        kind=kind,
        status=Status.PENDING,
        title=lesson.title,
        body=lesson.body,
        context=lesson.context,
        worked=lesson.worked,
        did_not_work=lesson.did_not_work,
        area=lesson.area,
        theme=lesson.theme,
        layers=rules.layers_key(lesson.layers),
        search_text=rules.search_text(lesson, quoted, redact),
        room_id=room_id,
        created_by_id=actor.user_id,
    )


async def _offer(
    session: AsyncSession,
    acting: Acting,
    publication: Publication,
    authors: list[int],
    room: str,
    details: dict[str, Any],
    quoted: list[Message] | None = None,
) -> View:
    """Store the publication with its listed authors and quotes, and audit it."""
    session.add(publication)
    await session.flush()
    repo.add_authors(session, publication.id, authors)
    repo.add_quotes(session, publication.id, quoted or [])
    await audit.record(
        session,
        acting.source,
        "publication_create",
        room=room,
        target=_target(publication.id),
        details=details,
    )
    await session.flush()
    return await view_of(session, publication)


async def _listed(session: AsyncSession, publication_id: int) -> Publication:
    publication = await repo.get(session, publication_id, lock=True)
    if publication is None:
        raise NotFound(f"no publication {publication_id}")
    return publication


async def consent(
    db: Database, acting: Acting, publication_id: int, agree: bool, show_name: bool
) -> tuple[View, Published]:
    """A listed author's answer; the last agreement publishes, a refusal unpublishes."""
    actor = _member(acting)
    async with db.write() as session:
        publication = await _listed(session, publication_id)
        mine = await repo.author_of(session, publication.id, actor.user_id)
        if mine is None:
            raise Forbidden("only a listed author may answer for this publication")
        before = Status(publication.status)
        rules.check_consent_allowed(before)
        mine.consent, mine.show_name, mine.answered_at = agree, show_name, utcnow()
        await session.flush()
        room, _ = await repo.sources(session, publication)
        answers = [
            a.consent for a, _ in (await repo.authors_of(session, [publication.id]))[publication.id]
        ]
        after = rules.status_after(before, answers)
        await audit.record(
            session,
            acting.source,
            "publication_consent" if agree else "publication_refuse",
            room=room,
            target=_target(publication.id),
            details={"show_name": show_name},
        )
        if after is not before:
            publication.status = after
            if after is Status.PUBLISHED:
                publication.published_at = utcnow()
            await audit.record(
                session,
                acting.source,
                "publication_published" if after is Status.PUBLISHED else "publication_unpublished",
                room=room,
                target=_target(publication.id),
            )
        await session.flush()
        view = await view_of(session, publication)
    if after is before:
        change = "answered"
    else:
        change = "published" if after is Status.PUBLISHED else "unpublished"
    return view, told(view, change)


async def create_report(db: Database, acting: Acting, meeting: str) -> tuple[View, Published]:
    """A pending publication of the meeting's published verslag; its author is asked."""
    actor = _member(acting)
    rules.check_staff(actor)
    async with db.write() as session:
        report = await published_report(session, meeting)
        found = await repo.meeting_context(session, meeting)
        if report is None or found is None or report.author_user_id is None:
            raise NotFound(f"meeting {meeting!r} has no published verslag to share")
        row, theme, room_id = found
        if await repo.live_of_meeting(session, row.id) is not None:
            raise Conflict(f"the verslag of meeting {meeting!r} is already offered")
        text = rules.plain_text(report.html)
        lesson = Lesson(title=report.title, body=text, theme=theme)
        redact = rules.redactor_of(await repo.people(session)).text
        publication = _draft(lesson, Kind.REPORT, actor, room_id, [], redact)
        publication.html, publication.meeting_id = report.html, row.id
        details = {"kind": Kind.REPORT, "meeting": row.slug, "revision": report.revision}
        view = await _offer(
            session, acting, publication, [report.author_user_id], row.slug, details
        )
    return view, told(view, "requested")


async def withdraw(
    db: Database, acting: Acting, publication_id: int, reason: str = ""
) -> Published:
    """Withdraw for good (moderators, admins, listed authors): off the public pages at once."""
    actor = _member(acting)
    async with db.write() as session:
        publication = await _listed(session, publication_id)
        listed = await repo.author_of(session, publication.id, actor.user_id) is not None
        source = await session.get(Room, publication.room_id) if publication.room_id else None
        ref = room_ref(source) if source is not None else None
        rules.check_withdraw(actor, Status(publication.status), ref, listed=listed)
        was = publication.status
        publication.status, publication.withdrawn_at = Status.WITHDRAWN, utcnow()
        room, _ = await repo.sources(session, publication)
        await audit.record(
            session,
            acting.source,
            "publication_withdraw",
            room=room,
            target=_target(publication.id),
            reason=reason,
            details={"was": was},
        )
        view = await view_of(session, publication)
    return told(view, "withdrawn")


async def one(db: Database, actor: Actor, publication_id: int) -> View:
    """A publication as its listed authors and the staff see it (with its state)."""
    async with db.read() as session:
        publication = await repo.get(session, publication_id)
        if publication is None:
            raise NotFound(f"no publication {publication_id}")
        listed = await repo.author_of(session, publication.id, actor.user_id) is not None
        if not (listed or actor.is_staff):
            raise Forbidden("only listed authors, moderators and admins see this publication")
        return await view_of(session, publication)


async def mine(db: Database, actor: Actor, which: str) -> list[View]:
    """`pending`: requests the member has not answered; `listed`: every publication that
    lists them; `created`: those they made."""
    async with db.read() as session:
        if which == "created":
            found = await repo.created_by(session, actor.user_id, limit=MAX_LISTED)
        else:
            found = await repo.listed_for(
                session, actor.user_id, pending_only=which == "pending", limit=MAX_LISTED
            )
        return [await view_of(session, p) for p in found]

"""The verslag of a meeting: write a revision, publish, read, list revisions, start a draft.

Moderators of the meeting's room (admins, global moderators, the room's own moderators)
write and publish; every participant reads a published report; a draft is not found by
anyone else. Publishing puts `meeting_report_published` in the meeting room and in its
theme's room, published after the commit like every room event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import reports as repo
from persistence.agenda import agenda
from persistence.db import Database
from persistence.events import append_event, stored_event
from persistence.files import files_of_meeting
from persistence.meetings import meeting_by_slug
from persistence.models import Meeting, Room, StoredFile, utcnow
from persistence.moderation import record
from persistence.registrations import registered_user_ids
from persistence.rooms import room_ref
from persistence.search.reports import on_report_changed
from rooms.access import may_moderate
from rooms.errors import NotFound
from rooms.markdown import render
from rooms.model import SLUG_RE, Actor, Role
from rooms.render import report_draft
from rooms.text import clean
from rooms.verslag import Report, ReportStatus, check_body
from web.actions.common import Acting
from web.actions.notify import MeetingNotice
from web.actions.publish import Published
from web.wire.between import agenda_wire

EVENT = "meeting_report_published"


@dataclass(frozen=True, slots=True)
class Revision:
    revision: int
    updated_at: datetime
    updated_by: str | None


async def _meeting(session: AsyncSession, slug: str, *, lock: bool = False) -> tuple[Meeting, Room]:
    """The meeting and its room; `lock` takes the room's row lock (PostgreSQL) so that
    writes to one report take turns (SQLite's writers take turns already)."""
    meeting = await meeting_by_slug(session, slug) if SLUG_RE.fullmatch(slug) else None
    room = None
    if meeting is not None:
        query = select(Room).where(Room.meeting_id == meeting.id)
        room = (await session.execute(query.with_for_update() if lock else query)).scalars().first()
    if meeting is None or room is None:
        raise NotFound(f"no meeting {slug!r}")
    return meeting, room


def _user_id(acting: Acting) -> int | None:
    return acting.actor.user_id if acting.actor is not None else None


async def check_may_write(db: Database, acting: Acting, slug: str) -> None:
    """Refuse (`forbidden`, `not_found`) whoever may not write the meeting's report."""
    async with db.read() as session:
        _, room = await _meeting(session, slug)
        acting.check_moderate(room)


async def rendered(body: str) -> str:
    """The body as safe HTML, rendered in a worker thread.

    Rendering is fast for real reports (milliseconds) but pure Python: crafted Markdown at
    the size limit (200,000 '[') takes seconds, which must not stall the event loop.
    """
    return await asyncio.to_thread(render, body)


async def preview(body: str) -> str:
    """The HTML a body would have, without storing it."""
    return await rendered(check_body(clean(body)))


async def write(db: Database, acting: Acting, slug: str, body: str) -> Report:
    """Store `body` as the report's next revision; its status stays as it was."""
    body = check_body(clean(body))
    html = await rendered(body)
    async with db.write() as session:
        meeting, room = await _meeting(session, slug, lock=True)
        acting.check_moderate(room)
        row = await repo.write_revision(session, meeting, body, html, _user_id(acting), utcnow())
        await on_report_changed(session, row)
        await record(
            session, acting.source, "write_report", room=room.slug,
            details={"revision": row.revision},
        )  # fmt: skip
        return await repo.as_report(session, meeting, row)


async def publish(db: Database, acting: Acting, slug: str) -> tuple[Report, Published]:
    """Publish the report; the first publication tells the meeting and theme rooms."""
    async with db.write() as session:
        meeting, room = await _meeting(session, slug, lock=True)
        acting.check_moderate(room)
        row = await repo.report_row(session, meeting.id, lock=True)
        if row is None:
            raise NotFound(f"meeting {slug!r} has no report to publish")
        if row.status == ReportStatus.PUBLISHED:
            # Publishing twice tells nobody twice.
            return await repo.as_report(session, meeting, row), Published()
        now = utcnow()
        await repo.mark_published(session, row, _user_id(acting), now)
        await on_report_changed(session, row)
        report = await repo.as_report(session, meeting, row)
        data = {"meeting": meeting.slug, "title": report.title, "by": acting.source.actor}
        rooms = [room]
        if meeting.theme_id is not None:
            theme_room = (
                await session.execute(
                    select(Room).where(Room.kind == "theme", Room.theme_id == meeting.theme_id)
                )
            ).scalar_one_or_none()
            rooms += [theme_room] if theme_room is not None else []
        events = []
        for target in rooms:
            ev = await append_event(
                session, target.id, EVENT, actor_id=_user_id(acting), data=data, at=now
            )
            events.append((target.slug, stored_event(ev)))
        await record(
            session, acting.source, "publish_report", room=room.slug,
            details={"revision": row.revision},
        )  # fmt: skip
        # Those registered hear of it by the meeting's notice (and push, per their level).
        readers = tuple(await registered_user_ids(session, meeting.id))
    body = f"Het verslag van {report.title} is gepubliceerd."
    notice = MeetingNotice(readers, "report_published", meeting.slug, report.title, body)
    return report, Published(events=tuple(events), notices=(notice,) if readers else ())


async def read(db: Database, actor: Actor, slug: str) -> Report:
    """The report: a draft only for its moderators, else `not_found`."""
    async with db.read() as session:
        meeting, room = await _meeting(session, slug)
        report = await repo.report_of(session, meeting)
        if report is None or (not report.published and not may_moderate(actor, room_ref(room))):
            raise NotFound(f"meeting {slug!r} has no published report")
        return report


async def report_files(db: Database, slug: str) -> list[StoredFile]:
    """The files uploaded for the meeting's report (its appendices), oldest first. Asked
    only after the report itself was allowed (`read`, `write`, `publish`)."""
    async with db.read() as session:
        meeting, _ = await _meeting(session, slug)
        return list(await files_of_meeting(session, meeting.id))


async def revisions(db: Database, acting: Acting, slug: str) -> list[Revision]:
    """Every revision, newest first; for the meeting's moderators."""
    async with db.read() as session:
        meeting, room = await _meeting(session, slug)
        acting.check_moderate(room)
        row = await repo.report_row(session, meeting.id)
        if row is None:
            return []
        return [Revision(*r) for r in await repo.revisions(session, row)]


async def draft(db: Database, acting: Acting, slug: str) -> str:
    """A first text from the meeting's agenda, decisions and action items.

    Built from what every participant may read (theme and meeting rooms, never an area
    room), since the report is published to all of them.
    """
    async with db.read() as session:
        meeting, room = await _meeting(session, slug)
        acting.check_moderate(room)
        anyone = Actor(user_id=0, username="", role=Role.MEMBER)
        return report_draft(agenda_wire(await agenda(session, anyone, meeting)))

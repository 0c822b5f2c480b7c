"""Stored files (attachments): rows only; the bytes are in a `persistence.blobs` store.

Repositories take a session and never commit. A send attaches files in its own writer
(`persistence.sends`), which is also where a file becomes used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Event, MeetingReport, Message, Room, StoredFile, User
from rooms.verslag import ReportStatus


async def used_bytes(session: AsyncSession, user_id: int) -> int:
    """The sizes of every file the user uploaded, summed (their quota's use)."""
    query = select(func.coalesce(func.sum(StoredFile.size), 0)).where(
        StoredFile.uploader_id == user_id
    )
    return int((await session.execute(query)).scalar_one())


async def add_file(session: AsyncSession, row: StoredFile) -> StoredFile:
    session.add(row)
    await session.flush()
    return row


async def add_within_quota(session: AsyncSession, row: StoredFile, quota: int) -> bool:
    """Add the file unless it takes its uploader over `quota`. Two uploads of one user
    queue on the user's row here, so together they cannot pass a quota each passed alone."""
    await session.execute(select(User.id).where(User.id == row.uploader_id).with_for_update())
    if await used_bytes(session, row.uploader_id) + row.size > quota:
        return False
    await add_file(session, row)
    return True


async def blob_unused(session: AsyncSession, key: str) -> bool:
    query = select(StoredFile.id).where(StoredFile.sha256 == key).limit(1)
    return (await session.execute(query)).first() is None


@dataclass(frozen=True, slots=True)
class FileAccess:
    """A file with what deciding a download needs: its room, and whether the message that
    carries it is hidden."""

    file: StoredFile
    room: Room
    hidden: bool
    # A meeting's file (an appendix of its report): whether that report is published.
    report_published: bool = False


async def file_access(session: AsyncSession, file_id: int) -> FileAccess | None:
    query = (
        select(StoredFile, Room, Message.hidden, MeetingReport.status)
        .join(Room, Room.id == StoredFile.room_id)
        .outerjoin(Message, Message.id == StoredFile.message_id)
        .outerjoin(MeetingReport, MeetingReport.meeting_id == StoredFile.meeting_id)
        .where(StoredFile.id == file_id)
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    stored, room, hidden, report_status = row
    return FileAccess(stored, room, bool(hidden), report_status == ReportStatus.PUBLISHED)


async def files_of_meeting(session: AsyncSession, meeting_id: int) -> Sequence[StoredFile]:
    """The files uploaded for a meeting's report, oldest first."""
    query = select(StoredFile).where(StoredFile.meeting_id == meeting_id).order_by(StoredFile.id)
    return (await session.execute(query)).scalars().all()


async def files_of_messages(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, list[StoredFile]]:
    """The files each of these messages carries, in the order they were uploaded."""
    if not message_ids:
        return {}
    query = select(StoredFile).where(StoredFile.message_id.in_(message_ids)).order_by(StoredFile.id)
    found: dict[int, list[StoredFile]] = {}
    for row in (await session.execute(query)).scalars():
        assert row.message_id is not None
        found.setdefault(row.message_id, []).append(row)
    return found


async def remove_orphans(session: AsyncSession, before: datetime) -> list[str]:
    """Delete the files uploaded before `before` and never sent (nor kept for a report);
    the blob keys that no file refers to any more, for the caller to remove after commit."""
    return await _remove(
        session,
        StoredFile.message_id.is_(None),
        StoredFile.meeting_id.is_(None),
        StoredFile.created_at < before,
    )


async def remove_files_of(session: AsyncSession, message_ids: Sequence[int]) -> list[str]:
    """Delete the files of these messages (retention purge) and clear the list of files
    their `message` events carry; the blob keys no file refers to any more."""
    if not message_ids:
        return []
    await session.execute(
        update(Event)
        .where(Event.type == "message", Event.message_id.in_(message_ids))
        .values(data={})
    )
    return await _remove(session, StoredFile.message_id.in_(message_ids))


async def _remove(session: AsyncSession, *where: ColumnElement[bool]) -> list[str]:
    rows = (await session.execute(select(StoredFile.id, StoredFile.sha256).where(*where))).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    await session.execute(delete(StoredFile).where(StoredFile.id.in_(ids)))
    keys = sorted({r.sha256 for r in rows})
    still = select(StoredFile.sha256).where(StoredFile.sha256.in_(keys)).distinct()
    kept = set((await session.execute(still)).scalars())
    return [k for k in keys if k not in kept]

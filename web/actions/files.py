"""Attachment acts: may this caller upload here, accept an upload, open a download.

An upload is decided before its body is read (`upload_target`: may the caller post in
the room, or moderate the meeting; is their quota not used up), then the spooled file is
judged, scanned and stored (`accept`). Nothing is kept of a file that is refused: the
blob is written only after the checks, and the row in the transaction after that.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from persistence import files as repo
from persistence.db import Database
from persistence.meetings import meeting_by_slug
from persistence.models import Room, StoredFile, utcnow
from persistence.rooms import ban_of, mute_of, room_ref
from persistence.search.dutch import index_text
from rooms.access import check_moderate, check_post, check_read, may_moderate
from rooms.errors import NotFound, TooLarge, UnsupportedType
from rooms.files import KINDS, clean_name
from rooms.model import SLUG_RE, Actor
from web.actions.common import find_room
from web.attachments import Attachments
from web.extract import searchable_text
from web.filetypes import judge
from web.uploads import Spooled

# An upload that no send took within this long is removed (`remove_orphans`), looked for
# this often by every serving process (the work is idempotent; a second finds nothing).
ORPHAN_AFTER = timedelta(days=1)
SWEEP_EVERY = 3600.0

log = logging.getLogger("werkplaats.files")


@dataclass(frozen=True, slots=True)
class Target:
    """Where an upload goes: a room, and the meeting when it is for the meeting's report."""

    room_id: int
    meeting_id: int | None
    room_used: int  # the uploader's bytes stored so far


async def room_target(db: Database, actor: Actor, slug: str, quota: int) -> Target:
    """The room, if the actor may post in it and has quota left."""
    async with db.read() as session:
        room = await find_room(session, slug, lock=False)
        ban = await ban_of(session, room.id, actor.user_id)
        mute = await mute_of(session, room.id, actor.user_id)
        check_post(actor, room_ref(room), ban, mute, utcnow())
        used = await repo.used_bytes(session, actor.user_id)
    return _within_quota(Target(room.id, None, used), quota)


async def meeting_target(db: Database, actor: Actor, slug: str, quota: int) -> Target:
    """The meeting's room, if the actor may moderate it (moderators and admins)."""
    async with db.read() as session:
        meeting = await meeting_by_slug(session, slug) if SLUG_RE.fullmatch(slug) else None
        if meeting is None:
            raise NotFound(f"no meeting {slug!r}")
        room = await find_room(session, meeting.slug, lock=False)
        check_moderate(actor, room_ref(room))
        used = await repo.used_bytes(session, actor.user_id)
    return _within_quota(Target(room.id, meeting.id, used), quota)


def _within_quota(target: Target, quota: int) -> Target:
    if target.room_used >= quota:
        raise TooLarge(f"your files take up your quota of {quota} bytes; remove some first")
    return target


async def accept(
    att: Attachments, db: Database, actor: Actor, target: Target, upload: Spooled
) -> StoredFile:
    """Judge, scan and store a spooled upload; the stored file's row."""
    if upload.size == 0:
        raise UnsupportedType("the file is empty")
    kind = await asyncio.to_thread(judge, upload.path)
    if kind is None:
        raise UnsupportedType(
            "only PDF, PNG, JPEG, ODF (odt, ods, odp), DOCX, XLSX, PPTX and plain text"
        )
    if target.room_used + upload.size > att.quota_bytes:
        raise TooLarge(f"this file would take you over your quota of {att.quota_bytes} bytes")
    await att.scanner.scan(upload.path)
    content = await searchable_text(upload.path, kind)
    name = clean_name(upload.name, kind)
    words = await asyncio.to_thread(index_text, f"{name} {content}")
    await att.store.put(upload.sha256, upload.path)
    await _preview_of(att, upload, kind)
    row = StoredFile(
        room_id=target.room_id,
        uploader_id=actor.user_id,
        meeting_id=target.meeting_id,
        name=name,
        kind=kind,
        media_type=KINDS[kind].media_type,
        size=upload.size,
        sha256=upload.sha256,
        text=words,
        created_at=utcnow(),
    )
    async with db.write() as session:
        added = await repo.add_within_quota(session, row, att.quota_bytes)
        unused = not added and await repo.blob_unused(session, upload.sha256)
    if not added:
        # Another upload of this user's was stored meanwhile (the check above read before it).
        if unused:
            await att.remove_blobs([upload.sha256])
        raise TooLarge(f"this file would take you over your quota of {att.quota_bytes} bytes")
    return row


async def _preview_of(att: Attachments, upload: Spooled, kind: str) -> None:
    """An image's preview, made while the upload is on local disk. A failure costs only
    the preview: the first download of one makes it then (`Attachments.preview`)."""
    try:
        await att.make_preview(upload.sha256, upload.path, kind)
    except Exception:
        log.warning("files: storing the preview of %s failed", upload.sha256, exc_info=True)


async def readable_file(db: Database, actor: Actor, file_id: int) -> StoredFile:
    """The file, if the actor may read its room now and its message is not hidden."""
    async with db.read() as session:
        found = await repo.file_access(session, file_id)
        if found is None or found.hidden:
            raise NotFound(f"no file {file_id}")
        room: Room = found.room
        check_read(actor, room_ref(room), await ban_of(session, room.id, actor.user_id), utcnow())
        draft = found.file.message_id is None and found.file.meeting_id is None
        if draft and found.file.uploader_id != actor.user_id:
            # Not sent yet: only its uploader knows of it.
            raise NotFound(f"no file {file_id}")
        appendix = found.file.meeting_id is not None and found.file.message_id is None
        if appendix and not found.report_published and not may_moderate(actor, room_ref(room)):
            # An appendix of a report still in draft: as the draft itself, moderators only.
            raise NotFound(f"no file {file_id}")
        return found.file


async def remove_orphans(att: Attachments, db: Database, now: datetime | None = None) -> int:
    """Remove the uploads no send took within `ORPHAN_AFTER`, and blobs left unused."""
    async with db.write() as session:
        keys = await repo.remove_orphans(session, (now or utcnow()) - ORPHAN_AFTER)
    await att.remove_blobs(keys)
    return len(keys)


async def sweep_orphans(att: Attachments, db: Database, every: float = SWEEP_EVERY) -> None:
    """`remove_orphans` now and then, for as long as the process serves."""
    while True:
        try:
            removed = await remove_orphans(att, db)
            if removed:
                log.info("files: removed %d unused blobs of orphaned uploads", removed)
        except Exception:
            log.exception("files: removing orphaned uploads failed; trying again later")
        await asyncio.sleep(every)

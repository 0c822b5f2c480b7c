"""Exports with their files: `export-room --with-files` and `export-user --with-files`
write one ZIP archive holding the export itself, the attachments' bytes under
`bijlagen/<id>-<name>`, and `manifest-sha256.txt` (`sha256sum -c` checks it).

The export is written first (with its audit entry, as without files); then the files it
covers are read in one short read transaction and streamed from the blob store into the
archive a chunk at a time, outside any transaction: memory stays at one chunk whatever the
sizes. A blob whose bytes do not match its sha256 stops the export (a damaged store must
not be archived as if it were sound).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import select

from persistence import archive
from persistence.archive import ArchiveError, ExportFormat
from persistence.blobs import BlobStore
from persistence.db import Database
from persistence.models import Message, Room, StoredFile, User
from persistence.moderation import Source
from web.roomexport import write_room
from web.wire.archive import user_export_wire

MANIFEST = "manifest-sha256.txt"
FOLDER = "bijlagen"
# A file name inside the archive: letters, digits, dot, dash and underscore only.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Written:
    path: Path
    events: int
    files: int


def entry_name(f: StoredFile) -> str:
    """Where a file goes in the archive: never a path from what its uploader named it."""
    return f"{FOLDER}/{f.id}-{_UNSAFE.sub('_', f.name)[:120]}"


async def export_room(
    db: Database,
    blobs: BlobStore,
    slug: str,
    out: Path,
    source: Source,
    *,
    fmt: ExportFormat = "md",
    include_hidden: bool = False,
    reason: str = "",
) -> Written:
    """A room's export (as `write_room_export`) with the files of the messages it shows
    (a hidden message's only with `include_hidden`) and of the room's meeting report."""

    async def write(text: IO[str]) -> int:
        return await write_room_export(
            db, slug, text, source, fmt=fmt, include_hidden=include_hidden, reason=reason
        )

    async def files() -> list[StoredFile]:
        async with db.read() as session:
            room_id = (await session.execute(select(Room.id).where(Room.slug == slug))).scalar()
            shown = select(Message.id).where(Message.room_id == room_id)
            if not include_hidden:
                shown = shown.where(Message.hidden.is_(False))
            query = (
                select(StoredFile)
                .where(
                    StoredFile.room_id == room_id,
                    StoredFile.message_id.in_(shown) | StoredFile.meeting_id.is_not(None),
                )
                .order_by(StoredFile.id)
            )
            return list((await session.execute(query)).scalars())

    return await _zip(blobs, out, f"kamer.{fmt}", write, files)


async def write_room_export(
    db: Database,
    slug: str,
    out: IO[str],
    source: Source,
    *,
    fmt: ExportFormat = "md",
    include_hidden: bool = False,
    reason: str = "",
) -> int:
    """`export-room`'s document (JSON or Markdown), audited before its first line is
    written to `out`; returns how many events it holds."""
    found = await archive.export_room(
        db, slug, source, fmt=fmt, include_hidden=include_hidden, reason=reason
    )
    return await write_room(found, out, fmt)


async def user_export(
    db: Database, username: str, source: Source, *, reason: str = ""
) -> dict[str, Any]:
    """Everything stored about one user, as the export's JSON-ready dict (audited)."""
    return user_export_wire(await archive.export_user(db, username, source, reason=reason))


async def write_user_export(
    db: Database, username: str, out: IO[str], source: Source, *, reason: str = ""
) -> int:
    """`export-user`'s JSON document, written to `out`; returns how many messages it holds."""
    data = await user_export(db, username, source, reason=reason)
    out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    return len(data["messages"])


async def export_user(
    db: Database, blobs: BlobStore, username: str, out: Path, source: Source, *, reason: str = ""
) -> Written:
    """A user's export (as `write_user_export`) with the bytes of every file they
    uploaded, also those of their own hidden messages."""

    async def write(text: IO[str]) -> int:
        return await write_user_export(db, username, text, source, reason=reason)

    async def files() -> list[StoredFile]:
        async with db.read() as session:
            user_id = select(User.id).where(User.username == username).scalar_subquery()
            query = select(StoredFile).where(StoredFile.uploader_id == user_id)
            return list((await session.execute(query.order_by(StoredFile.id))).scalars())

    return await _zip(blobs, out, "gebruiker.json", write, files)


async def _zip(
    blobs: BlobStore,
    out: Path,
    export_name: str,
    write: Callable[[IO[str]], Awaitable[int]],
    files: Callable[[], Awaitable[Sequence[StoredFile]]],
) -> Written:
    part = out.with_name(out.name + ".part")
    try:
        with tempfile.TemporaryFile("w+", encoding="utf-8") as text:
            events = await write(text)
            found = await files()
            manifest: list[str] = []
            with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
                digest = hashlib.sha256()
                text.seek(0)
                with zf.open(export_name, "w") as entry:
                    while chunk := text.read(256 * 1024).encode():
                        digest.update(chunk)
                        entry.write(chunk)
                manifest.append(f"{digest.hexdigest()}  {export_name}")
                for f in found:
                    manifest.append(f"{await _add_blob(zf, blobs, f)}  {entry_name(f)}")
                zf.writestr(MANIFEST, "\n".join(manifest) + "\n")
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)
    return Written(out, events, len(found))


async def _add_blob(zf: zipfile.ZipFile, blobs: BlobStore, f: StoredFile) -> str:
    digest = hashlib.sha256()
    with zf.open(entry_name(f), "w", force_zip64=f.size > 2**31) as entry:
        async for chunk in blobs.read(f.sha256):
            digest.update(chunk)
            entry.write(chunk)
    if digest.hexdigest() != f.sha256:
        raise ArchiveError(f"file {f.id}: its stored bytes do not match their sha256")
    return f.sha256

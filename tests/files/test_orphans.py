"""Uploads that no message took are removed after a day, with their blobs; sent ones stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from persistence.db import Database
from persistence.models import StoredFile, utcnow
from tests.clients import Api, OpenClient
from tests.files.conftest import PDF, blobs_in
from web.actions.files import remove_orphans
from web.attachments import Attachments
from web.settings import Settings


async def test_orphans_removed_sent_files_kept(
    api: Api,
    server: str,
    open_client: OpenClient,
    database: Database,
    settings: Settings,
    files_dir: Path,
) -> None:
    """A day later an unsent upload and its blob are gone; a sent file is untouched."""
    sent = await api.call("ann", "POST", "/api/rooms/area-a/files", files={"file": ("a.pdf", PDF)})
    orphan = await api.call(
        "ann", "POST", "/api/rooms/area-a/files", files={"file": ("b.txt", b"los bestand")}
    )
    ann = await open_client(server, "ann")
    await ann.send("area-a", "met bijlage", files=[sent.json()["file"]["id"]])
    assert len(blobs_in(files_dir)) == 2
    att = Attachments.from_settings(settings)
    await att.start()
    try:
        assert await remove_orphans(att, database) == 0  # not a day old yet
        assert await remove_orphans(att, database, utcnow() + timedelta(days=2)) == 1
    finally:
        await att.close()
    async with database.read() as session:
        left = (await session.execute(select(StoredFile.id))).scalars().all()
    assert left == [sent.json()["file"]["id"]]
    assert len(blobs_in(files_dir)) == 1
    assert orphan.json()["file"]["id"] not in left


async def test_purge_removes_the_files_of_old_messages(
    api: Api,
    server: str,
    open_client: OpenClient,
    database: Database,
    settings: Settings,
    files_dir: Path,
) -> None:
    """The retention purge blanks old messages and removes their files, rows and blobs;
    the events API then lists no files for them, and the download is gone."""
    from sqlalchemy import update

    from persistence import archive
    from persistence.models import Message
    from persistence.moderation import Source

    up = await api.call("ann", "POST", "/api/rooms/area-a/files", files={"file": ("o.pdf", PDF)})
    file_id = up.json()["file"]["id"]
    ann = await open_client(server, "ann")
    ack = await ann.send("area-a", "oud bericht", files=[file_id])
    async with database.write() as session:
        await session.execute(
            update(Message)
            .where(Message.id == ack["message_id"])
            .values(created_at=utcnow() - timedelta(days=400))
        )
    att = Attachments.from_settings(settings)
    await att.start()
    try:
        done = await archive.purge(
            database, 365, Source("operator", "console"), remove_blobs=att.remove_blobs
        )
    finally:
        await att.close()
    assert done == 1
    assert blobs_in(files_dir) == []
    assert (await api.get("ann", f"/api/files/{file_id}")).status_code == 404
    replayed = [e for e in await api.events("amy", "area-a") if e["seq"] == ack["seq"]]
    assert "files" not in replayed[0]


async def test_export_user_lists_their_files(api: Api, database: Database) -> None:
    """export-user includes the user's uploads (name, type, size, sha256)."""
    from persistence.moderation import Source
    from web.actions import archives

    up = await api.call("ann", "POST", "/api/rooms/area-a/files", files={"file": ("e.pdf", PDF)})
    data = await archives.user_export(database, "ann", Source("operator", "console"))
    assert [(f["id"], f["name"], f["room"]) for f in data["files"]] == [
        (up.json()["file"]["id"], "e.pdf", "area-a")
    ]

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

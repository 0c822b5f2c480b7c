"""Archive duties for files: exports carry the bytes with a sha256 manifest; pseudonymise
renames files that name the person and leaves them attached; purge removes previews too."""

from __future__ import annotations

import asyncio
import hashlib
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from persistence import archive
from persistence.db import Database
from persistence.models import Message, StoredFile, utcnow
from persistence.moderation import Source
from tests.clients import Api, OpenClient
from tests.files.conftest import PDF, blobs_in
from tests.files.test_previews import photo
from web.attachments import Attachments
from web.cli import main
from web.settings import Settings

OPERATOR = Source("operator", "console")


async def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setenv("WERKPLAATS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WERKPLAATS_FILES_DIR", settings.files_dir)
    monkeypatch.setenv("WERKPLAATS_LOG_LEVEL", "WARNING")
    return await asyncio.to_thread(main, list(argv))


async def upload(api: Api, user: str, name: str, data: bytes) -> dict[str, object]:
    r = await api.call(user, "POST", "/api/rooms/area-a/files", files={"file": (name, data)})
    assert r.status_code == 201, r.text
    f: dict[str, object] = r.json()["file"]
    return f


def checked_zip(path: Path) -> dict[str, bytes]:
    """The archive's entries, after checking every manifest line against the bytes."""
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    lines = entries.pop("manifest-sha256.txt").decode().splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in lines)
    assert set(listed) == set(entries)
    for name, digest in listed.items():
        assert hashlib.sha256(entries[name]).hexdigest() == digest, name
    return entries


async def test_export_room_with_files(
    api: Api,
    server: str,
    open_client: OpenClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The ZIP holds the transcript, each shown message's files and a manifest that
    `sha256sum -c` would accept; a hidden message's file only with --include-hidden."""
    pdf = await upload(api, "ann", "../../Plan gebied.pdf", PDF)
    jpg = await upload(api, "ann", "kaart.jpg", photo(64, 64))
    hidden = await upload(api, "ann", "geheim.txt", b"niet voor het archief\n")
    draft = await upload(api, "ann", "concept.txt", b"nog niet verstuurd\n")
    ann = await open_client(server, "ann")
    await ann.send("area-a", "Plan en kaart", files=[pdf["id"], jpg["id"]])
    ack = await ann.send("area-a", "Oeps", files=[hidden["id"]])
    r = await api.post(
        "rita", f"/api/rooms/area-a/messages/{ack['message_id']}/hide", {"reason": "x"}
    )
    assert r.status_code == 200, r.text

    out = tmp_path / "kamer.zip"
    argv = ["export-room", "area-a", "--format", "json", "--with-files", "--output", str(out)]
    assert await cli(settings, monkeypatch, *argv) == 0
    entries = checked_zip(out)
    assert b"Plan en kaart" in entries.pop("kamer.json")
    assert entries == {
        f"bijlagen/{pdf['id']}-Plan_gebied.pdf": PDF,
        f"bijlagen/{jpg['id']}-kaart.jpg": photo(64, 64),
    }
    assert await cli(settings, monkeypatch, *argv, "--include-hidden") == 0
    assert f"bijlagen/{hidden['id']}-geheim.txt" in checked_zip(out)
    assert f"bijlagen/{draft['id']}-concept.txt" not in checked_zip(out)


async def test_with_files_needs_an_output(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(settings, monkeypatch, "export-room", "area-a", "--with-files") == 2
    assert "--output" in capsys.readouterr().err
    assert await cli(settings, monkeypatch, "export-user", "ann", "--with-files") == 2


async def test_export_user_with_files(
    api: Api,
    server: str,
    open_client: OpenClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Every upload of the user's, sent or not, with their JSON export; no one else's."""
    mine = await upload(api, "ann", "mijn plan.pdf", PDF)
    unsent = await upload(api, "ann", "los.txt", b"nog niet verstuurd\n")
    amys = await upload(api, "amy", "van amy.txt", b"van een ander\n")
    ann = await open_client(server, "ann")
    await ann.send("area-a", "Mijn plan", files=[mine["id"]])
    out = tmp_path / "ann.zip"
    argv = ["export-user", "ann", "--with-files", "--output", str(out)]
    assert await cli(settings, monkeypatch, *argv) == 0
    entries = checked_zip(out)
    assert b"Mijn plan" in entries.pop("gebruiker.json")
    assert set(entries) == {
        f"bijlagen/{mine['id']}-mijn_plan.pdf",
        f"bijlagen/{unsent['id']}-los.txt",
    }
    assert all(str(amys["id"]) not in name for name in entries)


async def test_pseudonymise_renames_files_that_name_the_person(
    api: Api, server: str, open_client: OpenClient, database: Database
) -> None:
    """Files stay attached and downloadable; a name naming the person (display name, a
    part of it, the username) is renamed in the row and the message event, and search no
    longer finds the file by that name. Contents are not rewritten."""
    named = await upload(api, "ann", "Notities Ann Aalders.pdf", PDF)
    other = await upload(api, "ann", "begroting.txt", b"De begroting voor Aalders\n")
    ann = await open_client(server, "ann")
    ack = await ann.send("area-a", "Mijn notities", files=[named["id"], other["id"]])
    found = await api.get("amy", "/api/search?q=Aalders")
    assert any(h.get("kind") == "file" for h in found.json()["hits"])

    new = await archive.pseudonymise(database, "ann", OPERATOR)
    async with database.read() as session:
        rows = (await session.execute(select(StoredFile).order_by(StoredFile.id))).scalars().all()
    names = {f.id: f.name for f in rows}
    assert names[named["id"]] == "Notities Verwijderde deelnemer.pdf"
    assert names[other["id"]] == "begroting.txt"  # its name does not name her
    assert all(f.message_id == ack["message_id"] for f in rows)
    replayed = [e for e in await api.events("amy", "area-a") if e["seq"] == ack["seq"]]
    assert [f["name"] for f in replayed[0]["files"]] == [
        "Notities Verwijderde deelnemer.pdf",
        "begroting.txt",
    ]
    got = await api.get("amy", f"/api/files/{named['id']}")
    assert got.status_code == 200 and got.content == PDF
    assert "Verwijderde" in got.headers["content-disposition"]
    # Found by its name no more; what a document says is left as it is (as message text is).
    hits = (await api.get("amy", "/api/search?q=Aalders")).json()["hits"]
    assert [h["file"]["id"] for h in hits if h.get("kind") == "file"] == [other["id"]]
    assert new.startswith("verwijderd-")


async def test_purge_removes_images_and_their_previews(
    api: Api,
    server: str,
    open_client: OpenClient,
    database: Database,
    settings: Settings,
    files_dir: Path,
) -> None:
    jpg = await upload(api, "ann", "oud.jpg", photo(64, 64))
    assert len(blobs_in(files_dir)) == 2  # the image and its preview
    ann = await open_client(server, "ann")
    ack = await ann.send("area-a", "oude foto", files=[jpg["id"]])
    async with database.write() as session:
        await session.execute(
            update(Message)
            .where(Message.id == ack["message_id"])
            .values(created_at=utcnow() - timedelta(days=400))
        )
    att = Attachments.from_settings(settings)
    await att.start()
    try:
        assert await archive.purge(database, 365, OPERATOR, remove_blobs=att.remove_blobs) == 1
    finally:
        await att.close()
    assert blobs_in(files_dir) == []
    assert (await api.get("amy", f"/api/files/{jpg['id']}/preview")).status_code == 404

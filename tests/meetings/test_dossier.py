"""The meeting dossier (`werkplaats export-meeting`): complete and public, with a manifest."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from persistence.blobs import LocalStore
from persistence.db import Database
from persistence.meetings import meeting_by_slug
from persistence.models import StoredFile
from persistence.moderation import Source
from persistence.rooms import room_by_slug
from rooms.errors import NotFound
from tests.moderation.conftest import audit_rows, post
from web.actions import dossier

OPERATOR = Source("cli:tester", "cli@test")


def unpacked(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# The dossier's reads are the ORM's, the same SQL on both databases.
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_complete_and_public_dossier(database: Database, tmp_path: Path) -> None:
    await post(database, "meeting-one", "ann", "Ik neem de kaart mee, @bob komt later.")
    await post(database, "meeting-one", "bob", "Prima, Ann Aalders rijdt.")
    # Names the public version also finds: a first name alone, a username as a word, someone
    # without an account after a title, contact details.
    await post(
        database,
        "meeting-one",
        "amy",
        "Ann en bob weten het; mevrouw Jansen belt, ann@gemeente-a.nl of 06-12345678.",
    )
    store = LocalStore(tmp_path / "blobs")
    await store.start()
    content = b"%PDF-1.4 programma"
    key = hashlib.sha256(content).hexdigest()
    (tmp_path / "upload").write_bytes(content)
    await store.put(key, tmp_path / "upload")
    async with database.write() as session:
        meeting = await meeting_by_slug(session, "meeting-one")
        room = await room_by_slug(session, "meeting-one")
        assert meeting is not None and room is not None
        session.add(
            StoredFile(
                room_id=room.id,
                uploader_id=1,
                meeting_id=meeting.id,
                name="../Programma 1.pdf",
                kind="document",
                media_type="application/pdf",
                size=len(content),
                sha256=key,
            )
        )
    complete = await dossier.export_meeting(
        database, store, "meeting-one", tmp_path / "c.zip", OPERATOR, public=False
    )
    public = await dossier.export_meeting(
        database, store, "meeting-one", tmp_path / "p.zip", OPERATOR, public=True
    )
    for written in (complete, public):
        files = unpacked(written.path)
        manifest = files["manifest-sha256.txt"].decode().splitlines()
        # Every record is in the manifest with its sha256, and has its MDTO metadata.
        for line in manifest:
            digest, name = line.split("  ")
            assert hashlib.sha256(files[name]).hexdigest() == digest
            meta = json.loads(files[f"metadata/{name}.mdto.json"])
            assert meta["bestand"]["checksum"]["checksumWaarde"] == digest
            assert meta["informatieobject"]["identificatie"]["identificatieKenmerk"].startswith(
                "meeting-one/"
            )
        assert {"agenda.md", "berichten.json", "besluiten.json", "actiepunten.json"} <= {
            line.split("  ")[1] for line in manifest
        }
    attached = [n for n in unpacked(complete.path) if n.startswith("bijlagen/")]
    assert len(attached) == 1 and attached[0].endswith("-.._Programma_1.pdf")
    assert unpacked(complete.path)[attached[0]] == content
    full = json.loads(unpacked(complete.path)["berichten.json"])
    assert [m["author"]["username"] for m in full] == ["ann", "bob", "amy"]
    open_version = unpacked(public.path)
    text = b"".join(open_version.values()).decode()
    # No username, display name or mention survives in the public version.
    for name in ("Ann", '"ann"', "@bob", "username", "display_name", "Jansen", "06-", "@gem"):
        assert name not in text
    shown = json.loads(open_version["berichten.json"])
    assert shown[0]["author"] == {"organisation": "Gemeente A", "layer": "gemeente"}
    assert shown[0]["body"] == "Ik neem de kaart mee, Provincie B (provincie) komt later."
    assert shown[2]["body"] == (
        "Gemeente A (gemeente) en Provincie B (provincie) weten het; mevrouw [naam] belt, "
        "[e-mailadres] of [telefoonnummer]."
    )
    actions = [e.action for e in await audit_rows(database)]
    assert actions == ["export_meeting", "export_meeting_public"]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_unknown_meeting_is_refused_and_nothing_written(
    database: Database, tmp_path: Path
) -> None:
    with pytest.raises(NotFound):
        await dossier.export_meeting(
            database, LocalStore(tmp_path), "nope", tmp_path / "x.zip", OPERATOR, public=True
        )
    assert not list(tmp_path.glob("x.zip*"))

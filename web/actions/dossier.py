"""The meeting dossier (`werkplaats export-meeting`): one ZIP archive of a meeting for the
archive, or reduced to organisations and layers for a Woo request.

Everything is read in one short read transaction; the attachments' bytes are streamed from
the blob store and the archive is written afterwards, outside any transaction. Each record
gets a metadata file with field names after the Nationaal Archief's MDTO, and the archive a
`manifest-sha256.txt` in `sha256sum` format (`sha256sum -c` checks it).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from persistence.agenda import agenda
from persistence.blobs import BlobStore
from persistence.db import Database
from persistence.events import iso
from persistence.files import files_of_meeting, files_of_messages
from persistence.meetings import meeting_by_slug
from persistence.models import Message, Room, StoredFile, User, utcnow
from persistence.moderation import Source, record
from persistence.reports import report_of
from rooms.errors import NotFound
from rooms.model import Actor, Role
from rooms.redact import Person, Redactor
from rooms.render import agenda_markdown
from web.wire.between import agenda_wire

SOURCE = "Werkplaats Vitaal Platteland"
# A file name inside the archive: letters, digits, dot, dash and underscore only.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class _Read:
    """What the transaction read; the archive is built from this afterwards."""

    meeting: dict[str, Any]
    agenda: dict[str, Any]
    report: dict[str, Any] | None
    messages: list[dict[str, Any]]
    files: list[StoredFile]
    people: dict[str, tuple[str, str]] = field(default_factory=dict)  # username → (name, label)


@dataclass(frozen=True)
class Written:
    path: Path
    records: int
    public: bool


def label(organisation: str, layer: str) -> str:
    """A person as the public version shows them: organisation and layer, never a name."""
    return f"{organisation} ({layer})" if organisation else layer


async def export_meeting(
    db: Database, blobs: BlobStore, slug: str, out: Path, source: Source, *, public: bool
) -> Written:
    """Write the dossier of meeting `slug` to `out` (a ZIP); the audit entry comes first."""
    async with db.write() as session:
        found = await meeting_by_slug(session, slug)
        if found is None:
            raise NotFound(f"no meeting {slug!r}")
        await record(
            session,
            source,
            "export_meeting_public" if public else "export_meeting",
            target=slug,
            details={"public": public},
        )
    read = await _read(db, slug, public)
    part = out.with_name(out.name + ".part")
    try:
        count = await _write(read, blobs, part, public, utcnow())
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)
    return Written(out, count, public)


async def _read(db: Database, slug: str, public: bool) -> _Read:
    # The archive sees every room: an operator's export, recorded in the audit log.
    everyone = Actor(user_id=0, username="", role=Role.ADMIN)
    async with db.read() as session:
        meeting = await meeting_by_slug(session, slug)
        assert meeting is not None
        items = agenda_wire(await agenda(session, everyone, meeting))
        report = await report_of(session, meeting)
        room_id = (
            await session.execute(select(Room.id).where(Room.meeting_id == meeting.id))
        ).scalar()
        rows = await session.execute(
            select(Message, User)
            .join(User, User.id == Message.author_id)
            .where(Message.room_id == room_id)
            .order_by(Message.seq)
        )
        messages = [_message(m, u) for m, u in rows.all()]
        shown_ids = [m["message_id"] for m in messages if not m["hidden"]]
        by_message = await files_of_messages(session, shown_ids)
        files = [*await files_of_meeting(session, meeting.id)]
        files += [f for found in by_message.values() for f in found]
        people = {
            u.username: (u.display_name, label(u.organisation, u.layer))
            for u in (await session.execute(select(User))).scalars()
        }
    shown_report = None
    if report is not None and (report.published_at is not None or not public):
        shown_report = {
            "title": report.title,
            "body": report.body,
            "status": str(report.status),
            "revision": report.revision,
            "published_at": iso(report.published_at),
        }
    return _Read(
        {
            "slug": meeting.slug,
            "title": meeting.title,
            "starts_at": iso(meeting.starts_at),
            "place": meeting.place,
        },
        items,
        shown_report,
        messages,
        list({f.id: f for f in files}.values()),
        people,
    )


def _message(message: Message, author: User) -> dict[str, Any]:
    return {
        "message_id": message.id,
        "seq": message.seq,
        "author": {
            "username": author.username,
            "display_name": author.display_name,
            "organisation": author.organisation,
            "layer": author.layer,
        },
        "created_at": iso(message.created_at),
        "edited_at": iso(message.edited_at),
        # A hidden message is listed, its text is not: also not in the complete version.
        "body": None if message.hidden else message.body,
        "hidden": message.hidden,
    }


class _Redactor:
    """Names out of the public version: authors become organisation and layer, and names,
    @usernames, e-mail addresses and telephone numbers in free text are reduced
    (`rooms.redact`, which says what it cannot find)."""

    def __init__(self, people: dict[str, tuple[str, str]]) -> None:
        self.people = people
        self.text = Redactor(Person(u, n, lbl) for u, (n, lbl) in people.items()).text

    def value(self, value: Any) -> Any:
        """Every author object, owner and text inside a JSON-like value, reduced."""
        if isinstance(value, dict):
            if {"username", "display_name"} <= value.keys():
                return {"organisation": value.get("organisation", ""), "layer": value["layer"]}
            return {k: self._field(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def _field(self, key: str, value: Any) -> Any:
        if key in {"owner", "by", "updated_by"} and isinstance(value, str):
            return self.people[value][1] if value in self.people else value
        return self.value(value)


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


async def _write(read: _Read, blobs: BlobStore, path: Path, public: bool, now: datetime) -> int:
    redact = _Redactor(read.people)
    shown = redact.value if public else (lambda v: v)
    items = shown(read.agenda)
    records: list[tuple[str, bytes, str, str]] = [
        ("vergadering.json", _json(shown(read.meeting)), "application/json", "De bijeenkomst"),
        ("agenda.md", agenda_markdown(items).encode(), "text/markdown", "Conceptagenda"),
        (
            "besluiten.json",
            _json(items["decisions"]),
            "application/json",
            "Besluiten sinds de vorige bijeenkomst",
        ),
        (
            "actiepunten.json",
            _json(items["action_items"] + items["completed_actions"]),
            "application/json",
            "Actiepunten met hun status",
        ),
        (
            "berichten.json",
            _json(shown(read.messages)),
            "application/json",
            "Berichten in de kamer van de bijeenkomst",
        ),
    ]
    if read.report is not None:
        body = shown(read.report["body"])
        records.append(("verslag.md", body.encode(), "text/markdown", read.report["title"]))
    manifest: list[str] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes, media_type: str, title: str) -> None:
            digest = hashlib.sha256(data).hexdigest()
            archive.writestr(name, data)
            meta = _mdto(read.meeting, name, title, media_type, len(data), digest, now, public)
            archive.writestr(f"metadata/{name}.mdto.json", _json(meta))
            manifest.append(f"{digest}  {name}")

        for name, data, media_type, title in records:
            add(name, data, media_type, title)
        for stored in read.files:
            chunks = [chunk async for chunk in blobs.read(stored.sha256)]
            name = f"bijlagen/{stored.id}-{_UNSAFE.sub('_', stored.name)[:120]}"
            add(name, b"".join(chunks), stored.media_type, stored.name)
        archive.writestr("manifest-sha256.txt", "\n".join(manifest) + "\n")
    return len(manifest)


def _mdto(
    meeting: dict[str, Any],
    name: str,
    title: str,
    media_type: str,
    size: int,
    digest: str,
    now: datetime,
    public: bool,
) -> dict[str, Any]:
    """A record's metadata; the field names follow MDTO (informatieobject and bestand)."""
    return {
        "informatieobject": {
            "identificatie": {
                "identificatieKenmerk": f"{meeting['slug']}/{name}",
                "identificatieBron": SOURCE,
            },
            "naam": title,
            "aggregatieniveau": "Archiefstuk",
            "omschrijving": f"{meeting['title']} ({meeting['starts_at']})",
            "dekkingInTijd": {
                "dekkingInTijdType": "Bestaansperiode",
                "dekkingInTijdBegindatum": meeting["starts_at"],
            },
            "archiefvormer": SOURCE,
            "beperkingGebruik": {
                "beperkingGebruikType": "Openbaar, namen teruggebracht tot organisatie en laag"
                if public
                else "Volledig, voor het archief"
            },
        },
        "bestand": {
            "naam": name,
            "omvang": size,
            "bestandsformaat": media_type,
            "checksum": {
                "checksumAlgoritme": "SHA-256",
                "checksumWaarde": digest,
                "checksumDatum": iso(now),
            },
        },
    }

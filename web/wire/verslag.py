"""The verslag: a meeting's report, its revisions, a preview and a first draft."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from persistence.events import iso
from persistence.models import StoredFile
from rooms.verslag import Report
from web.wire import Body, Struct, envelope


class VerslagIn(Body):
    # No length in the type: over rooms.verslag.MAX_BODY_CHARS is 413 `too_large`, not 400.
    body: str


class FileRef(Struct):
    """An appendix of the report, as a `message` event lists a file."""

    id: int
    name: str
    size: int
    type: str


class Verslag(Struct):
    status: Literal["draft", "published"]
    body: str
    html: str
    revision: int
    updated_at: str
    updated_by: str | None
    published_at: str | None
    meeting: str
    title: str
    files: list[FileRef]


VerslagOut = envelope("VerslagOut", report=Verslag)


class VerslagRevision(Struct):
    revision: int
    updated_at: str
    updated_by: str | None


VerslagRevisions = envelope("VerslagRevisions", revisions=list[VerslagRevision])
VerslagPreview = envelope("VerslagPreview", html=str)
VerslagDraft = envelope("VerslagDraft", body=str)


def report_wire(report: Report, files: Sequence[StoredFile] = ()) -> dict[str, Any]:
    """A report as the API answers it, with its appendices."""
    return {
        "status": report.status.value,
        "body": report.body,
        "html": report.html,
        "revision": report.revision,
        "updated_at": iso(report.updated_at),
        "updated_by": report.updated_by,
        "published_at": iso(report.published_at),
        "meeting": report.meeting_slug,
        "title": report.title,
        "files": [
            {"id": f.id, "name": f.name, "size": f.size, "type": f.media_type} for f in files
        ],
    }

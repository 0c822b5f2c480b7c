"""Attachments as the domain sees them: the types we accept, names, and which files a send
may carry.

The type of a file is judged from its content elsewhere (web/filetypes.py); this module
only lists the allowed types, by the name the judge gives them, with their media type and
the extension a download gets. A file's name is what the uploader's browser said: it is
shown to others and offered as the name of a download, so every path part, control and
bidi character is removed here, once, before it is stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rooms.errors import BadFrame
from rooms.text import EXPLICIT_BIDI, clean

# A send carries at most this many files (docs/protocol.md, "Attachments").
MAX_FILES_PER_MESSAGE = 10
MAX_NAME_CHARS = 200


@dataclass(frozen=True, slots=True)
class Kind:
    """An allowed type: its media type and the extension a nameless file gets."""

    media_type: str
    extension: str


KINDS: dict[str, Kind] = {
    "pdf": Kind("application/pdf", "pdf"),
    "png": Kind("image/png", "png"),
    "jpeg": Kind("image/jpeg", "jpg"),
    "odt": Kind("application/vnd.oasis.opendocument.text", "odt"),
    "ods": Kind("application/vnd.oasis.opendocument.spreadsheet", "ods"),
    "odp": Kind("application/vnd.oasis.opendocument.presentation", "odp"),
    "docx": Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pptx": Kind(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"
    ),
    "text": Kind("text/plain; charset=utf-8", "txt"),
}
MEDIA_TYPES = frozenset(k.media_type for k in KINDS.values())

# Path separators of every system a browser runs on, and characters Windows refuses.
_PATH = re.compile(r"[/\\:]")
_FORBIDDEN = re.compile(r'[<>"|?*]')
_SPACES = re.compile(r"\s+")


def _printable(ch: str) -> bool:
    category = unicodedata.category(ch)
    return not category.startswith("C") and ch not in EXPLICIT_BIDI


def clean_name(raw: str, kind: str) -> str:
    """The name to store and show: its last path part, without controls, bidi or invisible
    characters, at most `MAX_NAME_CHARS`; a name left empty (or only dots) becomes
    `bestand.<ext>` of the judged kind."""
    last = _PATH.split(unicodedata.normalize("NFC", raw))[-1]
    text = "".join(ch for ch in clean(last) if _printable(ch))
    text = _SPACES.sub(" ", _FORBIDDEN.sub("_", text)).strip().lstrip(".").strip()
    if len(text) > MAX_NAME_CHARS:
        _, dot, ext = text.rpartition(".")
        keep = ext if dot and 0 < len(ext) <= 10 else ""
        text = text[: MAX_NAME_CHARS - len(keep) - 1].rstrip() + (f".{keep}" if keep else "")
    return text or f"bestand.{KINDS[kind].extension}"


@dataclass(frozen=True, slots=True)
class FileFact:
    """A stored file as a send's decision needs it."""

    id: int
    room_id: int
    uploader_id: int
    used: bool


def check_attach(
    wanted: Sequence[int],
    facts: dict[int, FileFact],
    room_id: int,
    user_id: int,
    taken: set[int],
) -> None:
    """Refuse (`bad_frame`) files a send may not carry: more than ten, repeated, unknown,
    another's, another room's, already used, or taken by an earlier send of the batch."""
    if len(wanted) > MAX_FILES_PER_MESSAGE:
        raise BadFrame(f"at most {MAX_FILES_PER_MESSAGE} files per message")
    if len(set(wanted)) != len(wanted):
        raise BadFrame("a file is named twice")
    for file_id in wanted:
        fact = facts.get(file_id)
        if fact is None or fact.uploader_id != user_id or fact.room_id != room_id:
            raise BadFrame(f"file {file_id} is not one you uploaded to this room")
        if fact.used or file_id in taken:
            raise BadFrame(f"file {file_id} is already attached to a message")

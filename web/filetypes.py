"""A file's type judged from its content, never from its name or the browser's header.

Magic numbers (puremagic) tell PDF, PNG and JPEG; a ZIP container is opened and its
entries say which office format it is (ODF: the `mimetype` entry; OOXML: the part that
only that format has); plain text is UTF-8 without control characters. Anything else
(an executable, an archive, a format not on the list) is `None`: not accepted.
Blocking file reads: call `judge` in a thread.
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

import puremagic

# Enough of the head for every magic number we look for.
HEAD = 8192
# A document has far fewer entries; more means something else (or a zip bomb's directory).
MAX_ZIP_ENTRIES = 20_000
_MAGIC = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpeg"}
_ODF = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
_OOXML = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
# Text may hold tabs, line ends and form feeds; no other C0 control, and no DEL.
_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 12, 13)) + b"\x7f"


def judge(path: Path) -> str | None:
    """The kind (a key of `rooms.files.KINDS`) of the file at `path`, or None."""
    with path.open("rb") as handle:
        head = handle.read(HEAD)
    if not head:
        return None
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    try:
        found = puremagic.magic_string(head)
    except puremagic.PureError:
        found = []
    for match in found:
        if match.mime_type in _MAGIC and match.offset == 0:
            return _MAGIC[match.mime_type]
    return "text" if _is_text(path) else None


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                return None
            names = {i.filename for i in infos}
            if infos and infos[0].filename == "mimetype" and infos[0].file_size < 100:
                return _ODF.get(z.read(infos[0]).strip())
            if "[Content_Types].xml" in names:
                kinds = {kind for part, kind in _OOXML.items() if part in names}
                return kinds.pop() if len(kinds) == 1 else None
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return None
    return None


def _is_text(path: Path) -> bool:
    """UTF-8 from start to end, with no control character but tab, line ends, form feed."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            if chunk.translate(None, _CONTROLS) != chunk:
                return False
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True

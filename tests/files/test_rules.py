"""The pure parts: names cleaned, types judged from content, which files a send may carry."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from rooms.errors import BadFrame
from rooms.files import FileFact, check_attach, clean_name
from tests.files.conftest import EICAR, PDF
from web.filetypes import judge


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("verslag.pdf", "pdf", "verslag.pdf"),
        ("../../etc/passwd", "text", "passwd"),
        ("C:\\Users\\ann\\plan.docx", "docx", "plan.docx"),
        ("factuur\u202efdp.exe", "pdf", "factuurfdp.exe"),
        ("a\x00b\x1bc.txt", "text", "abc.txt"),
        ("...", "png", "bestand.png"),
        ("  lege   ruimte .odt ", "odt", "lege ruimte .odt"),
        ('wat?<>*|".pdf', "pdf", "wat______.pdf"),
        ("x" * 300 + ".pdf", "pdf", "x" * 196 + ".pdf"),
    ],
)
def test_clean_name(raw: str, kind: str, expected: str) -> None:
    """Paths, controls, bidi and characters Windows refuses are gone; the length bounded."""
    assert clean_name(raw, kind) == expected


def _zip(entries: dict[str, bytes], first: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if first is not None:
            z.writestr(first, entries.pop(first))
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (PDF, "pdf"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40), "jpeg"),
        (
            _zip(
                {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"},
                "mimetype",
            ),
            "odt",
        ),
        (
            _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}, "mimetype"),
            "ods",
        ),
        (_zip({"[Content_Types].xml": b"<T/>", "xl/workbook.xml": b"<w/>"}), "xlsx"),
        (_zip({"[Content_Types].xml": b"<T/>", "ppt/presentation.xml": b"<p/>"}), "pptx"),
        ("Agenda\tpunt één\r\n".encode(), "text"),
        (EICAR, "text"),  # a text by its type; the scanner refuses it
        (_zip({"readme.txt": b"hallo"}), None),
        (_zip({"[Content_Types].xml": b"<T/>"}), None),
        (b"MZ\x90\x00" + bytes(100), None),
        (b"\x7fELF\x02\x01\x01" + bytes(100), None),
        (b"tekst met \x00 nul", None),
        (b"geen utf-8 \xff\xfe", None),
        (b"", None),
    ],
)
def test_judge(tmp_path: Path, content: bytes, kind: str | None) -> None:
    """The kind comes from the bytes alone."""
    path = tmp_path / "upload"
    path.write_bytes(content)
    assert judge(path) == kind


FACTS = {
    1: FileFact(1, room_id=10, uploader_id=5, used=False),
    2: FileFact(2, room_id=10, uploader_id=6, used=False),
    3: FileFact(3, room_id=11, uploader_id=5, used=False),
    4: FileFact(4, room_id=10, uploader_id=5, used=True),
}


def test_check_attach() -> None:
    """Own, this room's, unused files pass; every other is `bad_frame`."""
    check_attach([1], FACTS, 10, 5, set())
    for wanted, taken in (([2], set()), ([3], set()), ([4], set()), ([9], set()), ([1, 1], set()),
                          ([1], {1}), (list(range(11)), set())):  # fmt: skip
        with pytest.raises(BadFrame):
            check_attach(wanted, FACTS, 10, 5, taken)

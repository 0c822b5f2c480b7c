"""The text of an uploaded file, for search: read in a separate process with limits.

A PDF or an office file is a program for its parser: a hostile one can make pypdf loop or
a zip entry inflate to gigabytes. So the parsing runs in a child process
(`python -m web.extract KIND PATH`) that limits itself (CPU seconds, address space) before
it opens the file, and that the server kills when it has not answered in `WALL_SECONDS`.
Whatever goes wrong, the file is still stored; only its content is not searchable. Plain
text needs no parser and is read here, in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import re
import resource
import sys
import weakref
import zipfile
from pathlib import Path

log = logging.getLogger("werkplaats.files")

# Of any file, this much text is indexed: enough for a report's words, bounded for the row.
MAX_CHARS = 256 * 1024
CPU_SECONDS = 10
MEMORY_BYTES = 512 * 1024 * 1024
WALL_SECONDS = 20.0
EXTRACTORS = 2
# One gate per event loop (a semaphore belongs to the loop it was first used on).
_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
# A zip entry inflating to more than this is not read (a document's XML is far smaller).
MAX_ENTRY_BYTES = 50 * 1024 * 1024
_PARTS = {
    "odt": ("content.xml",),
    "ods": ("content.xml",),
    "odp": ("content.xml",),
    "docx": ("word/document.xml",),
    "xlsx": ("xl/sharedStrings.xml",),
}
_SLIDE = re.compile(r"ppt/slides/slide\d+\.xml")
_TAG = re.compile(r"<[^>]*>")
PARSED = frozenset({"pdf", "pptx", *_PARTS})


async def searchable_text(path: Path, kind: str) -> str:
    """The first `MAX_CHARS` of the file's text; empty for images and on any failure."""
    if kind == "text":
        return await asyncio.to_thread(_plain, path)
    if kind not in PARSED:
        return ""
    # At most EXTRACTORS parsers at a time per process: each may take MEMORY_BYTES, so
    # twenty uploads at once must not mean twenty parsers (the wait is not WALL_SECONDS').
    async with _extractors():
        return await _extract(path, kind)


def _extractors() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _GATES.get(loop)
    if gate is None:
        gate = _GATES[loop] = asyncio.Semaphore(EXTRACTORS)
    return gate


async def _extract(path: Path, kind: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.extract",
        kind,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), WALL_SECONDS)
    except TimeoutError:
        log.warning("files: text extraction of a %s file took too long; not indexed", kind)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return ""
    if proc.returncode != 0:
        log.warning("files: text extraction of a %s file failed (%s)", kind, proc.returncode)
        return ""
    return out.decode("utf-8", "ignore")[:MAX_CHARS]


def _plain(path: Path) -> str:
    with path.open("rb") as handle:
        return handle.read(MAX_CHARS * 4).decode("utf-8", "ignore")[:MAX_CHARS]


def _pdf(path: Path) -> str:
    from pypdf import PdfReader

    parts: list[str] = []
    size = 0
    for page in PdfReader(path).pages:
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
        if size >= MAX_CHARS:
            break
    return "\n".join(parts)


def _xml_parts(path: Path, kind: str) -> str:
    """The text of the document's XML parts, tags dropped (no XML parser: no entities to
    expand, nothing fetched)."""
    parts: list[str] = []
    size = 0
    with zipfile.ZipFile(path) as z:
        names = _PARTS.get(kind) or sorted(
            (n for n in z.namelist() if _SLIDE.fullmatch(n)),
            key=lambda n: int(re.sub(r"\D", "", n) or 0),
        )
        for name in names:
            info = z.getinfo(name)
            if info.file_size > MAX_ENTRY_BYTES:
                continue
            raw = z.read(info).decode("utf-8", "ignore")
            text = html.unescape(_TAG.sub(" ", raw))
            parts.append(text)
            size += len(text)
            if size >= MAX_CHARS:
                break
    return " ".join(parts)


def _limit_self() -> None:
    # Indexing can wait; live chat on the same cores cannot (W2's p99 beside uploads).
    os.nice(19)
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def main(argv: list[str]) -> int:
    """The child: `KIND PATH`, the text on stdout."""
    kind, path = argv[0], Path(argv[1])
    _limit_self()
    text = _pdf(path) if kind == "pdf" else _xml_parts(path, kind)
    sys.stdout.write(" ".join(text.split())[:MAX_CHARS])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

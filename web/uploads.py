"""A multipart/form-data upload streamed to a temporary file as it arrives.

The body is parsed chunk by chunk (python-multipart); the bytes of the part named `file`
go to a file in the spool folder while their sha256 is computed, and the read that takes
the file past its limit raises `TooLarge` at once, so the rest is never read (the answer
closes the connection; web/bodylimit.py). Memory stays at one chunk whatever the size.
Other parts are ignored; a body without a `file` part is a `bad_request`.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from rooms.errors import BadRequest, TooLarge

# A form has the file and perhaps a field or two; more parts are not ours.
MAX_PARTS = 4
FIELD = b"file"


@dataclass(slots=True)
class Spooled:
    """An uploaded file on local disk, with what was learnt while it streamed in."""

    path: Path
    name: str
    size: int
    sha256: str


class _Receiver:
    """The parser's callbacks: headers of the current part, and the file part's bytes."""

    def __init__(self, out: IO[bytes], limit: int) -> None:
        self.out = out
        self.limit = limit
        self.digest = hashlib.sha256()
        self.size = 0
        self.parts = 0
        self.header_field = b""
        self.header_value = b""
        self.disposition = b""
        self.in_file = False
        self.found = False
        self.name = ""

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadRequest(f"at most {MAX_PARTS} parts in an upload")
        self.disposition = b""
        self.in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_field.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if options.get(b"name") == FIELD and not self.found:
            self.in_file = self.found = True
            self.name = options.get(b"filename", b"").decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(f"the file is over {self.limit} bytes")
        self.digest.update(chunk)
        # A write to the page cache, not a wait on the disk: cheaper than a thread hop.
        self.out.write(chunk)

    def on_part_end(self) -> None:
        self.in_file = False


def _boundary(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadRequest("expected multipart/form-data with a part named 'file'")
    return boundary


@contextlib.contextmanager
def spool_file(folder: Path | None) -> Iterator[tuple[IO[bytes], Path]]:
    """A new temporary file, removed when the block ends (the caller copies what it keeps)."""
    handle = tempfile.NamedTemporaryFile(prefix="upload-", dir=folder, delete=False)
    path = Path(handle.name)
    try:
        yield handle, path
    finally:
        handle.close()
        path.unlink(missing_ok=True)


async def receive(request: Request, out: IO[bytes], path: Path, limit: int) -> Spooled:
    """Stream the request's `file` part into `out` (at `path`), at most `limit` bytes."""
    receiver = _Receiver(out, limit)
    parser = MultipartParser(
        _boundary(request),
        {
            "on_part_begin": receiver.on_part_begin,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from None
    if not receiver.found:
        raise BadRequest("no part named 'file' in the upload")
    out.flush()
    return Spooled(path, receiver.name, receiver.size, receiver.digest.hexdigest())

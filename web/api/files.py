"""Attachments over HTTP: upload to a room or a meeting's report, and download."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from persistence.db import Database
from persistence.models import StoredFile
from rooms.errors import DomainError, NotFound, Unavailable
from rooms.model import Actor
from web.actions import files as acts
from web.attachments import KEY, Attachments
from web.auth import Caller
from web.deps import Services, caller, services
from web.openapi import api
from web.previews import FORMATS, MEDIA_TYPES
from web.responses import JSON, error_response
from web.uploads import receive, spool_file
from web.wire import MAX_ID
from web.wire.files import FileCreated

# A download is shown by nothing: no script, no plugin, no frame, even if opened directly.
DOWNLOAD_CSP = "default-src 'none'; sandbox"
# A refused upload this small is read to its end before the answer (see `_refused`).
DRAIN_LIMIT = 1024 * 1024
PREVIEW_TYPES = {kind: MEDIA_TYPES[fmt] for kind, fmt in FORMATS.items()}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
# A name's ASCII stand-in for the plain `filename` parameter (RFC 6266 section 4.3).
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9 ._()+,;=@\[\]{}~!#$&\'-]")


def attachments(svc: Services) -> Attachments:
    att: Attachments = svc.extra[KEY]
    return att


def file_wire(f: StoredFile) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "size": f.size, "type": f.media_type, "sha256": f.sha256}


async def _upload(request: Request, who: Caller, target: acts.Target) -> Response:
    svc = services(request)
    att = attachments(svc)
    with spool_file(att.spool) as (out, path):
        upload = await receive(request, out, path, att.max_bytes)
        stored = await acts.accept(att, svc.db, who.actor, target, upload)
    return JSON({"file": file_wire(stored)}, status_code=201)


async def _refused(request: Request, exc: DomainError) -> DomainError:
    """A refusal before the body was read: a small body is read (and dropped) first, so
    that the client, still sending, gets the answer rather than a reset connection."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) <= DRAIN_LIMIT:
        async for _ in request.stream():
            pass
    return exc


Decide = Callable[[Database, Actor, str, int], Awaitable[acts.Target]]


async def _decided_upload(request: Request, decide: Decide) -> Response:
    """Decide who may upload where before reading the body, then take the upload."""
    svc = services(request)
    quota = attachments(svc).quota_bytes
    try:
        who = await caller(request)
        target = await decide(svc.db, who.actor, request.path_params["slug"], quota)
    except DomainError as exc:
        raise await _refused(request, exc) from None
    return await _upload(request, who, target)


async def upload_to_room(request: Request) -> Response:
    return await _decided_upload(request, acts.room_target)


async def upload_to_meeting(request: Request) -> Response:
    return await _decided_upload(request, acts.meeting_target)


def disposition(name: str) -> str:
    """`attachment` with the name as RFC 6266 gives it: an ASCII stand-in, and the real one
    percent-encoded in UTF-8 (`filename*`)."""
    fallback = _NOT_ASCII_SAFE.sub("_", name) or "bestand"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range asked for as (start, end exclusive); None for the whole file."""
    if not header:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None  # several ranges or another unit: the whole file (RFC 9110 14.2)
    if not m.group(1):
        start, end = max(0, size - int(m.group(2))), size
    else:
        start = int(m.group(1))
        end = min(size, int(m.group(2)) + 1) if m.group(2) else size
    if start >= size or start >= end:
        raise _Unsatisfiable
    return start, end


class _Unsatisfiable(Exception):
    pass


async def _readable(request: Request) -> tuple[Services, StoredFile]:
    """The file named in the path, if the caller may read it (downloads and previews alike)."""
    svc = services(request)
    who = await caller(request)
    file_id = request.path_params["file_id"]
    if not 0 < file_id <= MAX_ID:
        raise NotFound(f"no file {file_id}")
    return svc, await acts.readable_file(svc.db, who.actor, file_id)


async def download(request: Request) -> Response:
    svc, f = await _readable(request)
    headers = {
        "Content-Disposition": disposition(f.name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cache-Control": "private, no-cache",
        "Accept-Ranges": "bytes",
    }
    try:
        wanted = _range(request.headers.get("range"), f.size)
    except _Unsatisfiable:
        refused = error_response("bad_request", "range not satisfiable", 416)
        refused.headers["Content-Range"] = f"bytes */{f.size}"
        return refused
    start, end = wanted or (0, f.size)
    chunks = await _opened(attachments(svc), f.sha256, start, end)
    headers["Content-Length"] = str(end - start)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{f.size}"
    return StreamingResponse(chunks, status, headers, media_type=f.media_type)


async def preview(request: Request) -> Response:
    """An image's thumbnail, shown inline, with the same check as the file's download."""
    svc, f = await _readable(request)
    att = attachments(svc)
    try:
        key = await att.preview(f.sha256, f.kind)
    except Exception as exc:
        raise Unavailable("the file store is not available; try again later") from exc
    if key is None:
        raise NotFound(f"file {f.id} has no preview")
    headers = {
        "Content-Disposition": "inline",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cache-Control": "private, no-cache",
        "ETag": f'"{key}"',
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    chunks = await _opened(att, key, 0, None)
    return StreamingResponse(chunks, 200, headers, media_type=PREVIEW_TYPES[f.kind])


async def _opened(att: Attachments, key: str, start: int, end: int | None) -> AsyncIterator[bytes]:
    """The blob's bytes, its first chunk already read: a store that cannot serve it is a
    503 before the response starts, not a cut-off download."""
    it = att.store.read(key, start, end).__aiter__()
    try:
        first = await anext(it, b"")
    except Exception as exc:
        raise Unavailable("the file store is not available; try again later") from exc

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in it:
            yield chunk

    return rest()


UPLOAD_ERRORS = (400, 403, 404, 413, 415, 422, 503)


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api("/api/rooms/{slug}/files", "POST", upload_to_room,
            "upload a file (multipart/form-data, part `file`) to attach to a message",
            "files", out=FileCreated, status=201, errors=UPLOAD_ERRORS),
        api("/api/meetings/{slug}/files", "POST", upload_to_meeting,
            "upload a file for the meeting's report (moderators and admins)",
            "files", out=FileCreated, status=201, errors=UPLOAD_ERRORS),
        api("/api/files/{file_id:int}", "GET", download,
            "the file's bytes, as an attachment (a Range of bytes may be asked)", "files",
            errors=(403, 404, 503),
            also=(("application/octet-stream", {"type": "string", "format": "binary"}),)),
        api("/api/files/{file_id:int}/preview", "GET", preview,
            "an image's thumbnail (PNG or JPEG, metadata removed) to show inline", "files",
            errors=(403, 404, 503),
            also=(("image/png", {"type": "string", "format": "binary"}),
                  ("image/jpeg", {"type": "string", "format": "binary"}))),
    ]
    # fmt: on

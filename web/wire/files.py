"""Attachments: an uploaded file as the API and the `message` frame show it."""

from __future__ import annotations

from web.wire import Struct, envelope


class FileOut(Struct):
    id: int
    name: str
    size: int
    type: str
    sha256: str


FileCreated = envelope("FileCreated", file=FileOut)

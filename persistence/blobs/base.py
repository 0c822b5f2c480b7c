"""The interface of a blob store, and the one rule for keys."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

# Reads and writes move this much at a time: a large file is never held whole.
CHUNK = 256 * 1024
_KEY = re.compile(r"[0-9a-f]{64}")

Chunks = AsyncIterator[bytes]


def check_key(key: str) -> str:
    """The key if it is a sha256 in hex; anything else is a programming error."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


class BlobStore(Protocol):
    """Content-addressed bytes. Every method may raise `OSError` (or the backend's error)
    when the store cannot be reached; the caller turns that into a 503."""

    async def start(self) -> None:
        """Open connections, create what is missing (a folder, a bucket)."""

    async def close(self) -> None:
        """Release what `start` opened."""

    async def put(self, key: str, source: Path) -> None:
        """Store the file at `source` as `key` (nothing happens when it is there already)."""

    async def exists(self, key: str) -> bool:
        """Whether a blob `key` is stored."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> Chunks:
        """The bytes of `key` from `start` up to `end` (exclusive; None: the end), in chunks."""

    async def delete(self, key: str) -> None:
        """Remove `key` (no error when it is absent)."""

"""Blobs as files under one folder: `<root>/ab/cd/abcd…` (the key's first two byte pairs
spread the files over folders), written to `<root>/tmp` first and renamed into place, so
that a reader never sees half a blob."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from persistence.blobs.base import CHUNK, Chunks, check_key


class LocalStore:
    """`BlobStore` on the local filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    async def start(self) -> None:
        await asyncio.to_thread((self.root / "tmp").mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    async def put(self, key: str, source: Path) -> None:
        await asyncio.to_thread(self._put, self._path(key), source)

    def _put(self, dest: Path, source: Path) -> None:
        if dest.exists():
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, dest)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> Chunks:
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            left = None if end is None else end - start
            while left is None or left > 0:
                chunk = await asyncio.to_thread(
                    handle.read, CHUNK if left is None else min(CHUNK, left)
                )
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

"""The attachments' services of one process: blob store, virus scanner and limits.

Built from the settings by the lifespan (`start` opens the store, `close` releases it) and
kept in `Services.extra` under `KEY`; the acts in web/actions/files.py take it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from persistence.blobs import BlobStore, LocalStore, S3Config, S3Store
from web.previews import NoPreview, has_preview, make_thumbnail, preview_key
from web.scanner import Scanner
from web.settings import Settings

log = logging.getLogger("werkplaats.files")

KEY = "attachments"


@dataclass
class Attachments:
    store: BlobStore
    scanner: Scanner
    max_bytes: int
    quota_bytes: int
    spool: Path | None

    @classmethod
    def from_settings(cls, s: Settings) -> Attachments:
        store: BlobStore
        if s.files_s3_bucket:
            store = S3Store(
                S3Config(
                    bucket=s.files_s3_bucket,
                    endpoint_url=s.files_s3_endpoint,
                    region=s.files_s3_region,
                    access_key=s.files_s3_access_key,
                    secret_key=s.files_s3_secret_key,
                    prefix=s.files_s3_prefix,
                )
            )
        else:
            store = LocalStore(Path(s.files_dir))
        scanner = Scanner(s.clamd_host, s.clamd_port, s.clamd_timeout_seconds, enabled=s.files_scan)
        spool = Path(s.files_spool_dir) if s.files_spool_dir else None
        return cls(store, scanner, s.files_max_bytes, s.files_quota_bytes, spool)

    async def start(self) -> None:
        await self.store.start()

    async def close(self) -> None:
        await self.store.close()

    async def remove_blobs(self, keys: list[str]) -> None:
        """Delete these blobs (no file refers to them any more), and their previews."""
        for key in keys:
            await self.store.delete(key)
            await self.store.delete(preview_key(key))

    async def make_preview(self, key: str, source: Path, kind: str) -> bool:
        """Make and store the preview of the image at `source` (stored as `key`), in a
        thread. False when the image gets none (too many pixels, damaged)."""
        if not has_preview(kind):
            return False
        with self._spooled() as thumb:
            try:
                await asyncio.to_thread(make_thumbnail, source, thumb, kind)
            except NoPreview as exc:
                log.info("files: no preview of %s: %s", key, exc)
                return False
            await self.store.put(preview_key(key), thumb)
        return True

    async def preview(self, key: str, kind: str) -> str | None:
        """The key of the stored preview of image `key`, made now from the stored image
        when there is none yet; None when the image gets no preview."""
        if not has_preview(kind):
            return None
        wanted = preview_key(key)
        if await self.store.exists(wanted):
            return wanted
        with self._spooled() as image:
            with image.open("wb") as out:
                async for chunk in self.store.read(key):
                    await asyncio.to_thread(out.write, chunk)
            made = await self.make_preview(key, image, kind)
        return wanted if made else None

    @contextlib.contextmanager
    def _spooled(self) -> Iterator[Path]:
        fd, name = tempfile.mkstemp(prefix="werkplaats-preview-", dir=self.spool)
        path = Path(name)
        try:
            with open(fd, "wb"):
                pass
            yield path
        finally:
            path.unlink(missing_ok=True)

"""The attachments' services of one process: blob store, virus scanner and limits.

Built from the settings by the lifespan (`start` opens the store, `close` releases it) and
kept in `Services.extra` under `KEY`; the acts in web/actions/files.py take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from persistence.blobs import BlobStore, LocalStore, S3Config, S3Store
from web.scanner import Scanner
from web.settings import Settings

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
        """Delete these blobs (no file refers to them any more)."""
        for key in keys:
            await self.store.delete(key)

"""Where attachments' bytes live: one `BlobStore` interface, one module per backend.

Blobs are content-addressed: the key of a blob is the sha256 of its bytes, as 64 lowercase
hex digits, and nothing else is ever used to name one (no path or name from a user). Two
uploads of the same content share a blob. The local filesystem is the default (one
machine); S3-compatible object storage serves several machines (docs/files.md).
"""

from __future__ import annotations

from persistence.blobs.base import BlobStore, Chunks, check_key
from persistence.blobs.local import LocalStore
from persistence.blobs.s3 import S3Config, S3Store

__all__ = ["BlobStore", "Chunks", "LocalStore", "S3Config", "S3Store", "check_key"]

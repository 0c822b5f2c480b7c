"""Blobs in an S3-compatible bucket (AWS, MinIO, SeaweedFS, Ceph …) through aiobotocore.

One client per process, opened by `start` and closed by `close`. A blob is the object
`<prefix><key>`; the bucket is created by `start` when it does not exist (an operator may
create it beforehand with tighter policies). Uploads of large blobs go in parts, read from
the spooled file a part at a time, so memory stays at one part whatever the file's size.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from persistence.blobs.base import CHUNK, Chunks, check_key

# S3's smallest part (but the last) is 5 MiB; 8 MiB parts keep a 25 MiB file at 4 requests.
PART = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class S3Config:
    bucket: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key: str | None = None
    secret_key: str | None = None
    prefix: str = "blobs/"


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


class S3Store:
    """`BlobStore` on an S3-compatible bucket."""

    def __init__(self, config: S3Config) -> None:
        self.config = config
        self._stack = AsyncExitStack()
        self._client: Any = None

    def _name(self, key: str) -> str:
        return self.config.prefix + check_key(key)

    async def start(self) -> None:
        # Imported here: aiobotocore and botocore's session cost every process (server,
        # command) a second of start-up, and only a server storing blobs on S3 needs them.
        from aiobotocore.session import get_session
        from botocore.config import Config

        c = self.config
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=c.endpoint_url,
                region_name=c.region,
                aws_access_key_id=c.access_key,
                aws_secret_access_key=c.secret_key,
                config=Config(
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"max_attempts": 3},
                    s3={"addressing_style": "path"},
                ),
            )
        )
        try:
            await self._client.head_bucket(Bucket=c.bucket)
        except ClientError as exc:
            if not _missing(exc):
                raise
            await self._client.create_bucket(Bucket=c.bucket)

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None

    async def exists(self, key: str) -> bool:
        try:
            await self._client.head_object(Bucket=self.config.bucket, Key=self._name(key))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    async def put(self, key: str, source: Path) -> None:
        if await self.exists(key):
            return
        size = (await asyncio.to_thread(source.stat)).st_size
        with await asyncio.to_thread(source.open, "rb") as handle:
            if size <= PART:
                body = await asyncio.to_thread(handle.read)
                await self._client.put_object(
                    Bucket=self.config.bucket, Key=self._name(key), Body=body
                )
                return
            await self._put_parts(key, handle)

    async def _put_parts(self, key: str, handle: Any) -> None:
        bucket, name = self.config.bucket, self._name(key)
        upload = await self._client.create_multipart_upload(Bucket=bucket, Key=name)
        upload_id = upload["UploadId"]
        parts = []
        try:
            number = 1
            while part := await asyncio.to_thread(handle.read, PART):
                done = await self._client.upload_part(
                    Bucket=bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=part
                )
                parts.append({"ETag": done["ETag"], "PartNumber": number})
                number += 1
            await self._client.complete_multipart_upload(
                Bucket=bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            await self._client.abort_multipart_upload(Bucket=bucket, Key=name, UploadId=upload_id)
            raise

    async def read(self, key: str, start: int = 0, end: int | None = None) -> Chunks:
        extra = {}
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        got = await self._client.get_object(Bucket=self.config.bucket, Key=self._name(key), **extra)
        body = got["Body"]
        try:
            while chunk := await body.read(CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await self._client.delete_object(Bucket=self.config.bucket, Key=self._name(key))

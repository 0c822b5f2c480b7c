"""Both blob stores behind one interface: the same test body on the local folder and S3."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from persistence.blobs import BlobStore, LocalStore, S3Config, S3Store
from persistence.blobs.s3 import PART


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    made: BlobStore
    if request.param == "local":
        made = LocalStore(tmp_path / "blobs")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"wptest-{uuid.uuid4().hex[:12]}"
        made = S3Store(S3Config(bucket, endpoint, access_key="test", secret_key="test-secret"))
    await made.start()
    try:
        yield made
    finally:
        await made.close()


def written(folder: Path, data: bytes) -> tuple[str, Path]:
    path = folder / uuid.uuid4().hex
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


async def read_all(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


async def test_put_read_delete(store: BlobStore, tmp_path: Path) -> None:
    """A blob put is there, reads back whole and in part, and is gone after delete."""
    key, path = written(tmp_path, os.urandom(300_000))
    assert not await store.exists(key)
    await store.put(key, path)
    await store.put(key, path)  # the same content again: nothing changes
    assert await store.exists(key)
    data = path.read_bytes()
    assert await read_all(store, key) == data
    assert await read_all(store, key, 1000, 2000) == data[1000:2000]
    await store.delete(key)
    assert not await store.exists(key)


async def test_large_blob_goes_in_parts(store: BlobStore, tmp_path: Path) -> None:
    """A blob larger than one S3 part is stored and read back intact."""
    key, path = written(tmp_path, os.urandom(PART + 123_456))
    await store.put(key, path)
    assert hashlib.sha256(await read_all(store, key)).hexdigest() == key


async def test_keys_are_only_hashes(store: BlobStore) -> None:
    """A key that is not a sha256 (a path, say) is refused before the store is touched."""
    with pytest.raises(ValueError):
        await store.exists("../../etc/passwd")


async def test_upload_on_one_server_download_on_another(
    db_url: str, tmp_path: Path, s3_endpoint: str, clamd_port: int
) -> None:
    """Two servers sharing a database and a bucket: a file uploaded to one is served by the
    other (what several machines need)."""
    import httpx

    from tests.clients import Api
    from tests.files.conftest import PDF
    from tests.helpers import make_settings, running_server

    bucket = f"wptest-{uuid.uuid4().hex[:12]}"
    settings = [
        make_settings(
            db_url,
            files_dir=str(tmp_path / f"unused-{i}"),
            files_s3_bucket=bucket,
            files_s3_endpoint=s3_endpoint,
            files_s3_access_key="test",
            files_s3_secret_key="test-secret",
            clamd_port=clamd_port,
        )
        for i in (1, 2)
    ]
    async with (
        running_server(settings[0]) as one,
        running_server(settings[1]) as two,
        httpx.AsyncClient(timeout=10) as c,
    ):
        up = await Api(c, one).call(
            "ann", "POST", "/api/rooms/area-a/files", files={"file": ("a.pdf", PDF)}
        )
        assert up.status_code == 201, up.text
        got = await Api(c, two).get("ann", f"/api/files/{up.json()['file']['id']}")
    assert got.status_code == 200 and got.content == PDF

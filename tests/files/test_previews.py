"""Previews of images: thumbnails without metadata, a decompression bomb gets none, and a
preview is read under the same rules as its file, on both blob stores."""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from persistence.blobs import LocalStore, S3Config, S3Store
from tests.clients import Api, OpenClient
from tests.files.conftest import PDF
from tests.helpers import make_settings, running_server
from web.previews import SIZE, NoPreview, make_thumbnail, preview_key


def photo(width: int = 1600, height: int = 900) -> bytes:
    """A JPEG with EXIF that says who made it, where, and that it lies on its side."""
    img = Image.new("RGB", (width, height), (30, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "Camera van Anna"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to show it upright
    exif[0x8825] = {1: "N", 2: (52.0, 5.0, 0.0)}  # GPS
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` × `height` pixels (a decompression bomb's shape)."""
    real = io.BytesIO()
    Image.new("L", (1, 1)).save(real, "PNG")
    data = bytearray(real.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_thumbnail_is_small_upright_and_without_exif(tmp_path: Path) -> None:
    source, dest = tmp_path / "in.jpg", tmp_path / "out.jpg"
    source.write_bytes(photo())
    make_thumbnail(source, dest, "jpeg")
    with Image.open(dest) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) <= SIZE
        assert thumb.size[1] > thumb.size[0]  # turned upright by its EXIF orientation
        assert not thumb.getexif() and "exif" not in thumb.info
    assert b"Camera van Anna" not in dest.read_bytes()


def test_png_thumbnail_drops_text_chunks(tmp_path: Path) -> None:
    from PIL.PngImagePlugin import PngInfo

    meta = PngInfo()
    meta.add_text("Author", "Anna de Vries")
    source, dest = tmp_path / "in.png", tmp_path / "out.png"
    Image.new("RGBA", (900, 300), (0, 0, 0, 0)).save(source, "PNG", pnginfo=meta)
    make_thumbnail(source, dest, "png")
    with Image.open(dest) as thumb:
        assert thumb.size == (SIZE, SIZE // 3) and thumb.mode == "RGBA"
    assert b"Anna de Vries" not in dest.read_bytes()


@pytest.mark.parametrize(
    "size", [(8_000, 8_000), (10_000, 10_000), (20_000, 20_000), (100_000, 100_000)]
)
def test_decompression_bomb_gets_no_preview(tmp_path: Path, size: tuple[int, int]) -> None:
    """An image claiming too many pixels is refused from its header, before decoding."""
    source = tmp_path / "bomb.png"
    source.write_bytes(png_claiming(*size))
    with pytest.raises(NoPreview):
        make_thumbnail(source, tmp_path / "out.png", "png")
    assert not (tmp_path / "out.png").exists()


def test_damaged_image_gets_no_preview(tmp_path: Path) -> None:
    source = tmp_path / "broken.jpg"
    source.write_bytes(photo()[:600])
    with pytest.raises(NoPreview):
        make_thumbnail(source, tmp_path / "out.jpg", "jpeg")


@pytest.fixture(params=["local", "s3"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "local":
        return {"files_dir": str(tmp_path / "files")}
    return {
        "files_dir": str(tmp_path / "unused"),
        "files_s3_bucket": f"wptest-{uuid.uuid4().hex[:12]}",
        "files_s3_endpoint": request.getfixturevalue("s3_endpoint"),
        "files_s3_access_key": "test",
        "files_s3_secret_key": "test-secret",
    }


def store_of(opts: dict[str, Any]) -> LocalStore | S3Store:
    if "files_s3_bucket" in opts:
        return S3Store(
            S3Config(
                opts["files_s3_bucket"],
                opts["files_s3_endpoint"],
                access_key="test",
                secret_key="test-secret",
            )
        )
    return LocalStore(Path(opts["files_dir"]))


async def test_preview_served_like_its_file(
    db_url: str, clamd_port: int, store_settings: dict[str, Any], open_client: OpenClient
) -> None:
    """An image's preview: made at upload and stored beside it (or made again when gone),
    inline, without EXIF; 403 outside the room, 404 once hidden; none for a PDF."""
    settings = make_settings(db_url, clamd_port=clamd_port, **store_settings)
    async with running_server(settings) as base, httpx.AsyncClient(timeout=20) as c:
        api = Api(c, base)
        up = await api.call(
            "ann", "POST", "/api/rooms/area-a/files", files={"file": ("kaart.jpg", photo())}
        )
        assert up.status_code == 201, up.text
        f = up.json()["file"]
        pdf = await api.call(
            "ann", "POST", "/api/rooms/area-a/files", files={"file": ("a.pdf", PDF)}
        )
        ann = await open_client(base, "ann")
        ack = await ann.send("area-a", "De kaart", files=[f["id"], pdf.json()["file"]["id"]])

        store = store_of(store_settings)
        await store.start()
        try:
            assert await store.exists(preview_key(f["sha256"]))
            got = await api.get("amy", f"/api/files/{f['id']}/preview")
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == "image/jpeg"
            assert got.headers["content-disposition"] == "inline"
            assert got.headers["x-content-type-options"] == "nosniff"
            with Image.open(io.BytesIO(got.content)) as thumb:
                assert max(thumb.size) <= SIZE and not thumb.getexif()
            again = await api.call(
                "amy",
                "GET",
                f"/api/files/{f['id']}/preview",
                headers={"If-None-Match": got.headers["etag"]},
            )
            assert again.status_code == 304
            # A preview lost (or never made) is made again from the image.
            await store.delete(preview_key(f["sha256"]))
            remade = await api.get("amy", f"/api/files/{f['id']}/preview")
            assert remade.status_code == 200 and remade.content == got.content
            assert await store.exists(preview_key(f["sha256"]))
        finally:
            await store.close()

        assert (await api.get("bob", f"/api/files/{f['id']}/preview")).status_code == 403
        no_preview = await api.get("amy", f"/api/files/{pdf.json()['file']['id']}/preview")
        assert no_preview.status_code == 404
        hide = await api.post(
            "rita", f"/api/rooms/area-a/messages/{ack['message_id']}/hide", {"reason": "x"}
        )
        assert hide.status_code == 200, hide.text
        assert (await api.get("amy", f"/api/files/{f['id']}/preview")).status_code == 404


async def test_unsent_image_preview_only_for_its_uploader(api: Api) -> None:
    up = await api.call(
        "ann", "POST", "/api/rooms/area-a/files", files={"file": ("foto.jpg", photo(64, 64))}
    )
    f = up.json()["file"]
    assert (await api.get("ann", f"/api/files/{f['id']}/preview")).status_code == 200
    assert (await api.get("amy", f"/api/files/{f['id']}/preview")).status_code == 404

"""Previews of attached images: a small thumbnail made with Pillow, EXIF and every other
piece of metadata left behind.

A preview is a blob like any other, stored under a key derived from its image's key
(`preview_key`): content-addressed images share one preview, and whoever removes an
image's blob removes its preview with it (`Attachments.remove_blobs`). It is made when an
image is uploaded (from the spooled file), and otherwise the first time it is asked for.

Making one is decoding an image someone else chose, so it happens in a thread (never on
the event loop; Pillow lets go of the GIL while it decodes) and only for an image of at
most `MAX_PIXELS`, judged from its header before a pixel is decoded: a decompression bomb
(a tiny PNG of 50,000 × 50,000 pixels) gets no preview and costs nothing. A JPEG is decoded
at a reduced scale (`draft`), so even a large photo costs a fraction of its full decoding.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PIL import Image, ImageOps

# The longest side of a preview, in pixels (shown at half that on a sharp screen).
SIZE = 480
# Larger images get no preview: 50 megapixels is a 200 MB bitmap at 4 bytes a pixel.
MAX_PIXELS = 50_000_000
# The kinds (rooms/files.py) that have a preview, and the format of their preview.
FORMATS = {"png": "PNG", "jpeg": "JPEG"}
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
_VERSION = b"werkplaats-preview-1:"

log = logging.getLogger("werkplaats.files")


class NoPreview(Exception):
    """The image cannot be previewed (too many pixels, damaged, not an image)."""


def has_preview(kind: str) -> bool:
    return kind in FORMATS


def preview_key(image_key: str) -> str:
    """The blob key of the preview of the image stored as `image_key` (a sha256 in hex,
    as every key is; never built from anything a user wrote)."""
    return hashlib.sha256(_VERSION + image_key.encode("ascii")).hexdigest()


def make_thumbnail(source: Path, dest: Path, kind: str) -> None:
    """Write the preview of the image at `source` to `dest`. Blocking: call it in a thread.
    Raises `NoPreview` for an image too large or not readable."""
    fmt = FORMATS.get(kind)
    if fmt is None:
        raise NoPreview(f"no preview for {kind}")
    # Opening reads the header only; the size is judged before anything is decoded. (Pillow's
    # own guard refuses twice its MAX_IMAGE_PIXELS at open; ours is lower. Its warning is
    # not turned into an error here: warning filters are process-wide, not per thread.)
    try:
        with Image.open(source, formats=[fmt]) as img:
            width, height = img.size
            if width * height > MAX_PIXELS or width < 1 or height < 1:
                raise NoPreview(f"{width}×{height} pixels is too many to preview")
            if fmt == "JPEG":
                img.draft("RGB", (SIZE, SIZE))
            thumb = _thumbnail(img, fmt)
    except NoPreview:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning) as exc:
        raise NoPreview(f"the image cannot be read: {exc}") from exc
    with dest.open("wb") as out:
        if fmt == "JPEG":
            thumb.save(out, "JPEG", quality=80, optimize=True)
        else:
            thumb.save(out, "PNG", optimize=True)


def _thumbnail(img: Image.Image, fmt: str) -> Image.Image:
    """The image turned upright (EXIF orientation), scaled down, as a new bitmap that
    carries nothing of the original's metadata (EXIF, XMP, ICC, text chunks)."""
    upright = ImageOps.exif_transpose(img)
    mode = "RGB" if fmt == "JPEG" else ("RGBA" if _transparent(upright) else "RGB")
    upright = upright.convert(mode)
    upright.thumbnail((SIZE, SIZE), Image.Resampling.LANCZOS)
    clean = Image.new(mode, upright.size)
    clean.paste(upright)
    return clean


def _transparent(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info

"""Attachments: a server whose files go to this test's folder and are scanned by clamd.

clamd and the S3 server are started by their `.ci/services.d` scripts when they are not
answering; where that fails, the test fails in CI and is skipped elsewhere (`require`).
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, make_settings, require
from web.settings import Settings

CLAMD_PORT = 3310
S3_PORT = 8333
S3_ENDPOINT = f"http://127.0.0.1:{S3_PORT}"
# The EICAR test file (https://www.eicar.org): every scanner reports it; harmless.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def text_pdf(text: str) -> bytes:
    """A one-page PDF showing `text` (ASCII) in Helvetica, with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1,
        xref,
    )
    return out


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def started(name: str, port: int) -> bool:
    if _answers(port):
        return True
    script = ROOT / ".ci" / "services.d" / f"{name}.sh"
    subprocess.run(["bash", str(script)], check=False, timeout=60, capture_output=True)
    return _answers(port)


@pytest.fixture(scope="session")
def clamd_port() -> int:
    require("clamd", started("clamd", CLAMD_PORT), f"127.0.0.1:{CLAMD_PORT}")
    return CLAMD_PORT


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    require("S3 server", started("s3", S3_PORT), S3_ENDPOINT)
    return S3_ENDPOINT


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    return tmp_path / "files"


@pytest.fixture
def settings(db_url: str, files_dir: Path, clamd_port: int) -> Settings:
    return make_settings(db_url, files_dir=str(files_dir), clamd_port=clamd_port)


def blobs_in(folder: Path) -> list[Path]:
    """The blobs stored under a local store's folder (not its spool of half-written ones)."""
    if not folder.exists():
        return []
    return [
        p for p in folder.rglob("*") if p.is_file() and "tmp" not in p.relative_to(folder).parts
    ]

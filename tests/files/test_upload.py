"""Uploading and downloading attachments: every refusal, and what a download looks like."""

from __future__ import annotations

import asyncio
import hashlib
import io
import socket
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from persistence.db import Database
from persistence.models import StoredFile, User
from tests.clients import Api
from tests.files.conftest import EICAR, PDF, blobs_in
from tests.helpers import free_port, make_settings, running_server


async def upload(
    api: Api, user: str, data: bytes, name: str = "verslag.pdf", room: str = "area-a"
) -> httpx.Response:
    return await api.call(
        user, "POST", f"/api/rooms/{room}/files", files={"file": (name, data, "application/pdf")}
    )


async def count_files(database: Database) -> int:
    async with database.read() as session:
        return int(
            (await session.execute(select(func.count()).select_from(StoredFile))).scalar_one()
        )


async def test_pdf_upload_and_download(api: Api) -> None:
    """A PDF is stored (201 with its fields) and comes back byte for byte as an attachment."""
    r = await upload(api, "ann", PDF)
    assert r.status_code == 201, r.text
    f = r.json()["file"]
    assert f["name"] == "verslag.pdf" and f["size"] == len(PDF) and f["type"] == "application/pdf"
    assert f["sha256"] == hashlib.sha256(PDF).hexdigest()
    got = await api.get("ann", f"/api/files/{f['id']}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''verslag.pdf" in got.headers["content-disposition"]
    assert "sandbox" in got.headers["content-security-policy"]


async def test_range_request(api: Api) -> None:
    """A byte range of a file is answered 206 with just those bytes."""
    f = (await upload(api, "ann", PDF)).json()["file"]
    r = await api.call("ann", "GET", f"/api/files/{f['id']}", headers={"Range": "bytes=5-9"})
    assert r.status_code == 206 and r.content == PDF[5:10]
    assert r.headers["content-range"] == f"bytes 5-9/{len(PDF)}"


async def test_office_and_text_types_are_judged(api: Api) -> None:
    """A DOCX (judged by its parts) and plain text are accepted, whatever the name says."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    r = await upload(api, "ann", buf.getvalue(), "notitie.bin")
    assert r.status_code == 201, r.text
    assert r.json()["file"]["type"].endswith("wordprocessingml.document")
    r = await upload(api, "ann", "Agenda: één punt\n".encode(), "agenda.pdf")
    assert r.status_code == 201 and r.json()["file"]["type"].startswith("text/plain")


async def test_executable_named_pdf_is_refused(api: Api, database: Database) -> None:
    """An executable renamed .pdf is judged by its content: 415 unsupported_type, not kept."""
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)
    r = await upload(api, "ann", exe, "factuur.pdf")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_type"
    assert await count_files(database) == 0


async def test_eicar_is_refused_and_nothing_kept(
    api: Api, database: Database, files_dir: Path
) -> None:
    """The EICAR test file is 422 infected; no row and no blob remain."""
    r = await upload(api, "ann", EICAR, "eicar.txt")
    assert r.status_code == 422 and r.json()["error"]["code"] == "infected"
    assert await count_files(database) == 0
    assert blobs_in(files_dir) == []


async def test_clamd_down_is_503_and_nothing_kept(db_url: str, tmp_path: Path) -> None:
    """With clamd unreachable an upload is 503 with Retry-After, never stored unscanned."""
    settings = make_settings(db_url, files_dir=str(tmp_path / "f"), clamd_port=free_port())
    async with running_server(settings) as base, httpx.AsyncClient(timeout=10) as c:
        r = await upload(Api(c, base), "ann", PDF)
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0
    assert blobs_in(tmp_path / "f") == []


async def test_scanning_off_by_the_operator(db_url: str, tmp_path: Path) -> None:
    """An operator who turns scanning off gets files stored without clamd."""
    settings = make_settings(
        db_url, files_dir=str(tmp_path / "f"), clamd_port=free_port(), files_scan=False
    )
    async with running_server(settings) as base, httpx.AsyncClient(timeout=10) as c:
        r = await upload(Api(c, base), "ann", PDF)
    assert r.status_code == 201, r.text


async def test_only_posters_upload(api: Api) -> None:
    """Someone who may not post in the room gets 403 (and an unknown room 404)."""
    assert (await upload(api, "bob", PDF, room="area-a")).status_code == 403
    assert (await upload(api, "ann", PDF, room="no-such-room")).status_code == 404
    assert (await upload(api, None, PDF)).status_code == 401


async def test_download_by_non_member_is_forbidden(api: Api) -> None:
    """A file of an area room is 403 for someone outside the area; an unknown id is 404."""
    f = (await upload(api, "ann", PDF)).json()["file"]
    assert (await api.get("bob", f"/api/files/{f['id']}")).status_code == 403
    assert (await api.get("ann", "/api/files/999999")).status_code == 404


async def test_unsent_file_is_only_the_uploaders(api: Api) -> None:
    """A file no message carries yet is not found by other readers of the room."""
    f = (await upload(api, "ann", PDF)).json()["file"]
    assert (await api.get("amy", f"/api/files/{f['id']}")).status_code == 404


async def raw_upload(api: Api, user: str, name: str, data: bytes) -> httpx.Response:
    """An upload whose filename goes as raw UTF-8, not escaped the way httpx does it."""
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="'
        + name.encode()
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + data
        + b"\r\n--b0undary--\r\n"
    )
    headers = {"Content-Type": "multipart/form-data; boundary=b0undary"}
    return await api.call(user, "POST", "/api/rooms/area-a/files", content=body, headers=headers)


async def test_names_lose_paths_controls_and_bidi(api: Api) -> None:
    """Path parts, control and bidi characters are removed from the stored name."""
    r = await raw_upload(api, "ann", "../../etc/\u202egnp.exe\x07 rapport.pdf", PDF)
    assert r.status_code == 201, r.text
    assert r.json()["file"]["name"] == "gnp.exe rapport.pdf"
    r = await upload(api, "ann", PDF, "C:\\Users\\ann\\..\\verslag.pdf")
    assert r.json()["file"]["name"] == "verslag.pdf"
    r = await upload(api, "ann", PDF, "\u2066\u2069")
    assert r.json()["file"]["name"] == "bestand.pdf"


async def test_quota(db_url: str, tmp_path: Path, clamd_port: int) -> None:
    """Past the per-user quota an upload is 413 too_large."""
    settings = make_settings(
        db_url, files_dir=str(tmp_path / "f"), clamd_port=clamd_port, files_quota_bytes=1024
    )
    async with running_server(settings) as base, httpx.AsyncClient(timeout=60) as c:
        api = Api(c, base)
        assert (await upload(api, "ann", PDF)).status_code == 201
        big = b"%PDF-1.4\n" + bytes(1000)
        r = await upload(api, "ann", big)
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        # Uploads at once each fit alone; together only as many as the quota holds.
        parts = [b"%PDF-1.4\n" + bytes([i]) * 300 for i in range(8)]
        assert (await api.get("amy", "/api/rooms")).status_code == 200  # logged in once
        answers = await asyncio.gather(*(upload(api, "amy", p) for p in parts))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 3 + [413] * 5, codes
    database = Database(db_url)
    try:
        async with database.read() as session:
            query = (
                select(func.sum(StoredFile.size))
                .join(User, User.id == StoredFile.uploader_id)
                .where(User.username == "amy")
            )
            assert 0 < int((await session.execute(query)).scalar_one()) <= 1024
    finally:
        await database.dispose()


def _chunked_upload(base: str, token: str, limit: int) -> tuple[bytes, int]:
    """Stream a chunked upload past `limit` by raw socket; the answer and the bytes sent."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    boundary = "xYzBoundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="groot.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n'
    ).encode()
    sock = socket.create_connection((host, port), timeout=10)
    sent = 0
    try:
        sock.sendall(
            (
                f"POST /api/rooms/area-a/files HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
            ).encode()
        )
        sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
        chunk = bytes(64 * 1024)
        answer = b""
        sock.settimeout(0.05)
        # Send up to 40 times the limit; the answer must come long before.
        while sent < 40 * limit:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            except OSError:
                break
            try:
                answer += sock.recv(65536)
                if b"\r\n\r\n" in answer:
                    break
            except TimeoutError:
                continue
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
        return answer, sent
    finally:
        sock.close()


async def test_too_large_without_reading_it_all(
    db_url: str, tmp_path: Path, clamd_port: int
) -> None:
    """A streamed file over the limit is answered 413 before the client has sent it all."""
    limit = 256 * 1024
    settings = make_settings(
        db_url, files_dir=str(tmp_path / "f"), clamd_port=clamd_port, files_max_bytes=limit
    )
    async with running_server(settings) as base, httpx.AsyncClient(timeout=10) as c:
        token = await Api(c, base).token("ann")
        answer, sent = await asyncio.to_thread(_chunked_upload, base, token, limit)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 40 * limit
    assert blobs_in(tmp_path / "f") == []

"""Files found by search: by their name and a text file's words, only where one may read."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tests.clients import Api, OpenClient
from tests.files.conftest import PDF, text_pdf


async def attach(
    api: Api, server: str, open_client: OpenClient, user: str, room: str, name: str, data: bytes
) -> tuple[int, int]:
    r = await api.call(user, "POST", f"/api/rooms/{room}/files", files={"file": (name, data)})
    assert r.status_code == 201, r.text
    file_id: int = r.json()["file"]["id"]
    client = await open_client(server, user)
    ack = await client.send(room, "zie bijlage", files=[file_id])
    return file_id, int(ack["message_id"])


def file_hits(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    return [h for h in r.json()["hits"] if h["kind"] == "file"]


async def test_found_by_name_and_text(api: Api, server: str, open_client: OpenClient) -> None:
    """A PDF is found by the words of its name, a text file by its content too."""
    pdf, mid = await attach(
        api, server, open_client, "ann", "area-a", "Grondprijzen_Aldeboarn.pdf", PDF
    )
    txt, _ = await attach(
        api, server, open_client, "ann", "area-a", "notitie.txt", b"Over veenweide"
    )
    hits = file_hits(await api.get("amy", "/api/search?q=grondprijzen"))
    assert hits == [
        {
            "kind": "file",
            "room": "area-a",
            "message_id": mid,
            "file": {"id": pdf, "name": "Grondprijzen_Aldeboarn.pdf"},
            "snippet": hits[0]["snippet"],
        }
    ]
    assert "Grondprijzen" in hits[0]["snippet"]
    assert [
        h["file"]["id"] for h in file_hits(await api.get("amy", "/api/search?q=veenweid*"))
    ] == [txt]


async def test_not_found_where_one_may_not_read(
    api: Api, server: str, open_client: OpenClient
) -> None:
    """Someone outside the area finds nothing; a hidden message's file is not found."""
    _, mid = await attach(api, server, open_client, "ann", "area-a", "dijkversterking.pdf", PDF)
    assert file_hits(await api.get("bob", "/api/search?q=dijkversterking")) == []
    assert len(file_hits(await api.get("amy", "/api/search?q=dijkversterking"))) == 1
    r = await api.post("rita", f"/api/rooms/area-a/messages/{mid}/hide", {"reason": "x"})
    assert r.status_code == 200
    assert file_hits(await api.get("amy", "/api/search?q=dijkversterking")) == []


async def test_unsent_files_are_not_found(api: Api) -> None:
    """An upload no message carries is not found by anyone."""
    r = await api.call(
        "ann", "POST", "/api/rooms/theme-one/files", files={"file": ("zonneweide.pdf", PDF)}
    )
    assert r.status_code == 201
    assert file_hits(await api.get("ann", "/api/search?q=zonneweide")) == []


async def test_found_by_pdf_and_docx_text(api: Api, server: str, open_client: OpenClient) -> None:
    """The text inside a PDF and a Word document is found (extracted in a worker)."""
    pdf, _ = await attach(
        api, server, open_client, "ann", "area-a", "bijlage.pdf", text_pdf("Waterpeil Terherne")
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(
            "word/document.xml", "<w:document><w:t>Kavelruil &amp; Oldeboorn</w:t></w:document>"
        )
    docx, _ = await attach(
        api, server, open_client, "ann", "area-a", "notitie.docx", buf.getvalue()
    )
    found = file_hits(await api.get("amy", "/api/search?q=terherne"))
    assert [h["file"]["id"] for h in found] == [pdf]
    found = file_hits(await api.get("amy", "/api/search?q=oldeboorn"))
    assert [h["file"]["id"] for h in found] == [docx]


async def test_hostile_pdf_is_stored_unindexed(api: Api) -> None:
    """A PDF its parser chokes on is still accepted; only its name is searchable."""
    broken = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n" + bytes(5000)
    r = await api.call("ann", "POST", "/api/rooms/area-a/files", files={"file": ("x.pdf", broken)})
    assert r.status_code == 201, r.text


async def test_file_hits_beyond_the_first_page(
    api: Api, server: str, open_client: OpenClient
) -> None:
    """More file hits than `limit`: `next_file_cursor` leads through the rest, page by page
    (files alone), across a message's files, each exactly once; a forged cursor is 400."""
    ids: list[int] = []
    for count in (2, 3):
        mine = []
        for i in range(count):
            r = await api.call(
                "ann",
                "POST",
                "/api/rooms/area-a/files",
                files={"file": (f"kavelruil-{count}-{i}.txt", f"kavelruil {count} {i}".encode())},
            )
            assert r.status_code == 201, r.text
            mine.append(r.json()["file"]["id"])
        client = await open_client(server, "ann")
        await client.send("area-a", "bijlagen", files=mine)
        ids = mine + ids  # newest message first, its files in upload order
    first = await api.get("amy", "/api/search?q=kavelruil&limit=2")
    seen = [h["file"]["id"] for h in file_hits(first)]
    cursor = first.json().get("next_file_cursor")  # present only when there are more
    pages = 1
    while cursor is not None:
        r = await api.get("amy", f"/api/search?q=kavelruil&limit=2&file_cursor={cursor}")
        assert all(h["kind"] == "file" for h in r.json()["hits"])
        assert r.json()["next_cursor"] is None
        seen += [h["file"]["id"] for h in file_hits(r)]
        cursor = r.json()["next_file_cursor"]
        pages += 1
    assert seen == ids and pages == 3
    # Someone who may not read the room finds none of them on any page.
    assert file_hits(await api.get("bob", "/api/search?q=kavelruil&limit=2")) == []
    bad = await api.get("amy", "/api/search?q=kavelruil&file_cursor=f1;DROP")
    assert bad.status_code == 400 and "file_cursor" in bad.json()["error"]["message"]

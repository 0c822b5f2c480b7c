"""Sending files: the `message` event carries them, live and replayed; every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from chat.client import ClientError
from tests.clients import Api, OpenClient
from tests.files.conftest import PDF


async def uploaded(api: Api, user: str, room: str = "area-a", name: str = "plan.pdf") -> int:
    r = await api.call(
        user, "POST", f"/api/rooms/{room}/files", files={"file": (name, PDF, "application/pdf")}
    )
    assert r.status_code == 201, r.text
    file_id: int = r.json()["file"]["id"]
    return file_id


def wire(file_id: int, name: str = "plan.pdf") -> dict[str, Any]:
    return {"id": file_id, "name": name, "size": len(PDF), "type": "application/pdf"}


async def test_message_carries_its_files(api: Api, server: str, open_client: OpenClient) -> None:
    """A send with files: the live event, the replay and the download by another reader."""
    one, two = await uploaded(api, "ann"), await uploaded(api, "ann", name="kaart.pdf")
    amy = await open_client(server, "amy")
    await amy.subscribe("area-a", None)
    ann = await open_client(server, "ann")
    ack = await ann.send("area-a", "Het plan en de kaart", files=[one, two])
    live = await amy.wait_for(lambda f: f.get("type") == "message" and f["seq"] == ack["seq"])
    assert live["files"] == [wire(one), wire(two, "kaart.pdf")]
    replayed = [e for e in await api.events("amy", "area-a") if e["seq"] == ack["seq"]]
    assert replayed[0]["files"] == [wire(one), wire(two, "kaart.pdf")]
    got = await api.get("amy", f"/api/files/{one}")
    assert got.status_code == 200 and got.content == PDF


async def test_backlog_carries_files(api: Api, server: str, open_client: OpenClient) -> None:
    """A subscribe's backlog shows the files of a message, as the live event did."""
    one = await uploaded(api, "ann")
    ann = await open_client(server, "ann")
    ack = await ann.send("area-a", "Bijlage", files=[one])
    amy = await open_client(server, "amy")
    await amy.subscribe("area-a", 0)
    got = await amy.wait_for(lambda f: f.get("type") == "message" and f["seq"] == ack["seq"])
    assert got["files"] == [wire(one)]


async def refused(client: Any, room: str, files: list[int]) -> str:
    with pytest.raises(ClientError) as caught:
        await client.send(room, "met bijlage", files=files, timeout=10)
    code: str = caught.value.frame["code"]
    return code


async def test_refused_files(api: Api, server: str, open_client: OpenClient) -> None:
    """Another's file, another room's, a used one, an unknown one, eleven: bad_frame."""
    mine = await uploaded(api, "ann")
    amys = await uploaded(api, "amy")
    theme = await uploaded(api, "ann", room="theme-one")
    ann = await open_client(server, "ann")
    assert await refused(ann, "area-a", [amys]) == "bad_frame"
    assert await refused(ann, "area-a", [theme]) == "bad_frame"
    assert await refused(ann, "area-a", [987654]) == "bad_frame"
    assert await refused(ann, "area-a", list(range(1, 12))) == "bad_frame"
    await ann.send("area-a", "eerste", files=[mine])
    assert await refused(ann, "area-a", [mine]) == "bad_frame"


async def test_hidden_message_hides_its_files(
    api: Api, server: str, open_client: OpenClient
) -> None:
    """Once the message is hidden its file is 404, and the replay lists no files."""
    one = await uploaded(api, "ann")
    ann = await open_client(server, "ann")
    ack = await ann.send("area-a", "Bijlage", files=[one])
    assert (await api.get("amy", f"/api/files/{one}")).status_code == 200
    r = await api.post(
        "rita", f"/api/rooms/area-a/messages/{ack['message_id']}/hide", {"reason": "x"}
    )
    assert r.status_code == 200, r.text
    assert (await api.get("amy", f"/api/files/{one}")).status_code == 404
    replayed = [e for e in await api.events("amy", "area-a") if e["seq"] == ack["seq"]]
    assert "files" not in replayed[0]


async def test_meeting_report_files(api: Api) -> None:
    """Moderators upload files for a meeting's report; a member may not."""
    r = await api.call(
        "mo", "POST", "/api/meetings/meeting-one/files", files={"file": ("v.pdf", PDF)}
    )
    assert r.status_code == 201, r.text
    f = r.json()["file"]
    r = await api.call(
        "ann", "POST", "/api/meetings/meeting-one/files", files={"file": ("v.pdf", PDF)}
    )
    assert r.status_code == 403
    # The report carries its appendices (written, published and read).
    listed = [{"id": f["id"], "name": "v.pdf", "size": len(PDF), "type": "application/pdf"}]
    r = await api.call("mo", "PUT", "/api/meetings/meeting-one/report", {"body": "# V"})
    assert r.status_code == 200, r.text
    assert r.json()["report"]["files"] == listed
    # While the report is a draft its appendices are, like it, for moderators only.
    assert (await api.get("mo", f"/api/files/{f['id']}")).status_code == 200
    assert (await api.get("ann", f"/api/files/{f['id']}")).status_code == 404
    r = await api.call("mo", "POST", "/api/meetings/meeting-one/report/publish")
    assert r.json()["report"]["files"] == listed
    r = await api.get("ann", "/api/meetings/meeting-one/report")
    assert r.status_code == 200 and r.json()["report"]["files"] == listed
    assert (await api.get("ann", f"/api/files/{f['id']}")).status_code == 200


async def test_download_after_a_ban_is_forbidden(
    api: Api, server: str, open_client: OpenClient
) -> None:
    """Read permission is checked at every request: once amy is banned from the room, the
    file she could download a moment ago (and its preview) is 403."""
    from tests.files.test_previews import photo

    r = await api.call(
        "ann", "POST", "/api/rooms/area-a/files", files={"file": ("foto.jpg", photo(64, 64))}
    )
    assert r.status_code == 201, r.text
    image = r.json()["file"]["id"]
    one = await uploaded(api, "ann")
    ann = await open_client(server, "ann")
    await ann.send("area-a", "Bijlagen", files=[one, image])
    assert (await api.get("amy", f"/api/files/{one}")).status_code == 200
    assert (await api.get("amy", f"/api/files/{image}/preview")).status_code == 200
    ban = await api.call(
        "rita", "POST", "/api/rooms/area-a/bans", {"username": "amy", "reason": "x"}
    )
    assert ban.status_code in (200, 201), ban.text
    for path in (f"/api/files/{one}", f"/api/files/{image}", f"/api/files/{image}/preview"):
        refused = await api.get("amy", path)
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "forbidden"

"""Edit history: "bewerkt" opens a message's earlier versions for readers of its room."""

from __future__ import annotations

from chat.client import Client
from tests.clients import Api, OpenClient


async def test_readers_see_earlier_versions_but_never_hidden_text(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """Two edits give two earlier versions, oldest first; outsiders and hidden messages: no."""
    ann: Client = await open_client(server, "ann")
    await ann.subscribe("area-a", since=None)
    mid = (await ann.send("area-a", "eerste versie"))["message_id"]
    for body in ("tweede versie", "derde versie"):
        await ann.edit("area-a", mid, body)
        await ann.wait_for(lambda f, b=body: f.get("type") == "message_edited" and f["body"] == b)
    r = await api.get("amy", f"/api/rooms/area-a/messages/{mid}/history")
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["body"] == "derde versie" and found["edited_at"]
    assert [v["body"] for v in found["versions"]] == ["eerste versie", "tweede versie"]
    assert (await api.get("bob", f"/api/rooms/area-a/messages/{mid}/history")).status_code == 403
    await ann.retract("area-a", mid)
    await ann.wait_for(lambda f: f.get("type") == "message_hidden")
    assert (await api.get("amy", f"/api/rooms/area-a/messages/{mid}/history")).status_code == 404

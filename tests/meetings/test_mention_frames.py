"""The `mention` frame on /ws, end to end: for new messages and for edits that add a mention."""

from __future__ import annotations

from chat.client import Client
from tests.clients import OpenClient


async def connected(open_client: OpenClient, server: str, *names: str) -> dict[str, Client]:
    """These users, logged in and connected (closed by the fixture)."""
    return {name: await open_client(server, name) for name in names}


async def test_mention_frame_reaches_only_readers(server: str, open_client: OpenClient) -> None:
    """Ann (mentioned, a reader of area-a) gets a `mention`; bob (mentioned, no reader) does not."""
    clients = await connected(open_client, server, "ann", "bob", "amy")
    ack = await clients["amy"].send("area-a", "@ann en @bob: zien jullie dit?")
    frame = await clients["ann"].wait_for(lambda f: f.get("type") == "mention")
    assert frame["room"] == "area-a" and frame["message_id"] == ack["message_id"]
    assert frame["author"]["username"] == "amy" and "seq" not in frame
    await clients["bob"].ping()
    assert not [f for f in clients["bob"].frames if f.get("type") == "mention"]
    assert not [f for f in clients["amy"].frames if f.get("type") == "mention"]


async def test_edit_notifies_only_newly_mentioned(server: str, open_client: OpenClient) -> None:
    """An edit that adds @rita notifies rita; ann, mentioned before the edit, hears nothing new."""
    clients = await connected(open_client, server, "ann", "rita", "amy")
    ack = await clients["amy"].send("area-a", "@ann kijk eens")
    await clients["ann"].wait_for(lambda f: f.get("type") == "mention")
    await clients["amy"].edit("area-a", ack["message_id"], "@ann kijk eens, en @rita ook")
    frame = await clients["rita"].wait_for(lambda f: f.get("type") == "mention")
    assert frame["message_id"] == ack["message_id"] and frame["excerpt"].startswith("@ann")
    await clients["ann"].ping()
    assert len([f for f in clients["ann"].frames if f.get("type") == "mention"]) == 1

"""Group mentions: `@waterschap` and the like reach a layer, `@gebied` an area's team."""

from __future__ import annotations

import pytest

from chat.client import Client, ClientError
from tests.clients import Api, OpenClient


def mention_of(mid: int) -> object:
    return lambda f: f.get("type") == "mention" and f.get("message_id") == mid


async def test_group_mentions_reach_readers_of_the_group(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """`@gebied` reaches the area team, `@waterschap` the layer's readers; each says `via`."""
    ann, amy, bob, mo = [await open_client(server, n) for n in ("ann", "amy", "bob", "mo")]
    rita: Client = await open_client(server, "rita")
    mid = (await rita.send("area-a", "@gebied kijk even naar de kaart"))["message_id"]
    for member in (ann, amy):
        got = await member.wait_for(mention_of(mid))
        assert got["via"] == "gebied"
    mid = (await ann.send("area-a", "Vraag aan @waterschap: klopt het peil?"))["message_id"]
    assert (await amy.wait_for(mention_of(mid)))["via"] == "waterschap"
    # A moderator calls on a layer in a theme room; bob reads theme rooms, amy is not provincie.
    mid = (await mo.send("theme-one", "@provincie wie neemt dit op?"))["message_id"]
    assert (await bob.wait_for(mention_of(mid)))["via"] == "provincie"
    await ann.ping()
    await mo.ping()
    for outsider in (ann, amy):
        assert not [f for f in outsider.frames if mention_of(mid)(f)]


async def test_in_a_theme_room_only_moderators_and_askers(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """A member's group mention in a theme room is refused; on a message marked vraag the
    author may add one by an edit."""
    ann: Client = await open_client(server, "ann")
    bob: Client = await open_client(server, "bob")
    with pytest.raises(ClientError) as refused:
        await ann.send("theme-one", "Hallo @gemeente")
    assert refused.value.code == "forbidden"
    mid = (await ann.send("theme-one", "Wie weet hoe dit zit?"))["message_id"]
    r = await api.post("ann", f"/api/rooms/theme-one/messages/{mid}/mark", {"kind": "vraag"})
    assert r.status_code in (200, 201), r.text
    await ann.edit("theme-one", mid, "Wie weet hoe dit zit? @provincie")
    assert (await bob.wait_for(mention_of(mid)))["via"] == "provincie"

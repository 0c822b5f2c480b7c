"""Reactions, topics and direct conversations across two `werkplaats serve` processes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from chat.client import Client, ClientError
from tests.clients import Api, OpenClient
from tests.realtime.conftest import StartServers

pytestmark = [pytest.mark.slow, pytest.mark.redis]


async def test_live_across_processes_and_through_a_reconnect(
    start_servers: StartServers, open_client: OpenClient
) -> None:
    """Events made on A reach B live and in the backlog; a reaction made while a client
    reconnects reaches it exactly once; a direct conversation stays with its members."""
    a, b = await start_servers(2)
    ann: Client = await open_client(a.url, "ann")
    amy: Client = await open_client(b.url, "amy")
    for ws in (ann, amy):
        await ws.subscribe("theme-one", since=0)
    sent = await ann.send("theme-one", "Welke datum past?", topic="Datum")
    mid = sent["message_id"]
    seen = await amy.wait_for(lambda f: f.get("type") == "message")
    assert seen["topic"] == "Datum"
    await amy.react("theme-one", mid, "👍")
    first = await ann.wait_for(lambda f: f.get("type") == "reactions")
    assert first["reactions"] == {"👍": ["amy"]}

    # A reaction racing with amy's reconnect: she gets it once, live or from the backlog.
    await amy.drop()
    await ann.react("theme-one", mid, "🎉")
    await amy.connected()
    await amy.wait_seq("theme-one", first["seq"] + 1)
    got = [f for f in amy.frames if f.get("type") == "reactions"]
    assert [f["seq"] for f in got] == [first["seq"], first["seq"] + 1]
    assert got[-1]["reactions"] == {"👍": ["amy"], "🎉": ["ann"]}

    async with httpx.AsyncClient(timeout=10) as http:
        api_a, api_b = Api(http, a.url), Api(http, b.url)
        await _group_mentions_count(ann, amy, api_a, api_b, open_client, b.url)
        room = (await api_a.post("ann", "/api/direct", {"usernames": ["bob"]})).json()["room"]
        slug = room["slug"]
        bob: Client = await open_client(b.url, "bob")
        await bob.subscribe(slug, since=0)
        await ann.subscribe(slug, since=0)
        await ann.send(slug, "Even onder ons", topic="Privé")
        got_direct = await bob.wait_for(lambda f: f.get("room") == slug and f["type"] == "message")
        assert got_direct["body"] == "Even onder ons"
        for outsider, api in (("amy", api_b), ("mo", api_a)):
            rooms = (await api.get(outsider, "/api/rooms")).json()["rooms"]
            assert slug not in {r["slug"] for r in rooms}
            assert (await api.get(outsider, f"/api/rooms/{slug}/events")).status_code == 403
            assert (await api.get(outsider, "/api/search?q=onder")).json()["hits"] == []
        # A poll's votes from both processes at once: the counts are exact.
        poll = {"question": "Welke dag?", "options": ["ma", "di"], "multiple": True}
        made = await api_a.post("ann", "/api/rooms/theme-one/polls", poll)
        vote = f"/api/rooms/theme-one/polls/{made.json()['poll']['poll_id']}/vote"
        voters = ("ann", "amy", "bob", "rita", "mo", "ada")
        answers = await asyncio.gather(
            *((api_a if i % 2 else api_b).post(u, vote, {"choices": [0, 1] if i % 3 else [0]})
              for i, u in enumerate(voters))
        )  # fmt: skip
        assert all(r.status_code == 200 for r in answers)
        final = await amy.wait_for(lambda f: f.get("type") == "poll_votes" and f["voters"] == 6)
        assert final["counts"] == [6, 4]
        with pytest.raises(ClientError) as refused:
            await amy.subscribe(slug, since=0)
        assert refused.value.code == "forbidden"
        await asyncio.sleep(0)
        assert not [f for f in amy.frames if f.get("room") == slug]


async def _group_mentions_count(
    ann: Client, amy: Client, api_a: Api, api_b: Api, open_client: OpenClient, b_url: str
) -> None:
    """Group mentions made on A reach B's readers with `via`, live (`mention`, `activity`)
    and in every room list (`GET /api/rooms`, a new `hello`), as `@username` does."""
    sent = [
        (await ann.send("area-a", "@gebied kijk even naar de kaart"))["seq"],
        (await ann.send("area-a", "Vraag aan @Waterschap: klopt het peil?"))["seq"],
        (await ann.send("area-a", "En @amy zelf?"))["seq"],
    ]
    for seq, via in zip(sent, ("gebied", "waterschap", None), strict=True):
        got = await amy.wait_for(
            lambda f, s=seq: f.get("type") == "mention" and f["message_seq"] == s
        )
        assert got.get("via") == via
    counted: set[int] = set()
    while counted != set(sent):
        frame = await amy.wait_for(
            lambda f, known=frozenset(counted): f.get("type") == "activity"
            and f["room"] == "area-a" and not set(f.get("mentions", [])) <= known
        )  # fmt: skip
        counted |= set(frame["mentions"])
    expected = {"amy": 3, "rita": 1, "ann": 0, "bob": None}  # rita: @gebied; bob: not a reader
    for name, want in expected.items():
        for api in (api_a, api_b):
            rooms = (await api.get(name, "/api/rooms")).json()["rooms"]
            got_counts = [r["unread_mentions"] for r in rooms if r["slug"] == "area-a"]
            assert got_counts == ([] if want is None else [want]), (name, api.base)
    again: Client = await open_client(b_url, "amy")
    hello = {r["slug"]: r for r in (again.hello or {})["rooms"]}
    assert hello["area-a"]["unread_mentions"] == 3

"""Topics: on the message event, inherited by replies, listed, filtered, searched, renamed."""

from __future__ import annotations

from chat.client import Client, ClientError
from tests.clients import Api, OpenClient


async def test_topic_travels_with_the_message_and_its_replies(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """A send's topic is on its event, live and replayed; a reply takes its parent's."""
    ann: Client = await open_client(server, "ann")
    await ann.subscribe("theme-one", since=None)
    first = await ann.send("theme-one", "Hoe zit het met de subsidie?", topic="  Subsidie  2027 ")
    live = await ann.wait_for(lambda f: f.get("type") == "message")
    assert live["topic"] == "Subsidie 2027" and live["reactions"] == {}
    reply = await ann.send(
        "theme-one", "Zie de brief", reply_to=first["message_id"], topic="anders"
    )
    await ann.send("theme-one", "Iets anders", topic="Excursie")
    await ann.send("theme-one", "Zonder onderwerp")
    events = await api.events("amy", "theme-one")
    topics = {e["message_id"]: e["topic"] for e in events}
    assert topics[reply["message_id"]] == "Subsidie 2027"

    r = await api.get("amy", "/api/rooms/theme-one/topics")
    assert r.status_code == 200
    assert r.json()["topics"] == [
        {"name": "Excursie", "count": 1, "last_seq": 3},
        {"name": "Subsidie 2027", "count": 2, "last_seq": 2},
    ]
    r = await api.get("amy", "/api/rooms/theme-one/events?after=0&topic=Subsidie%202027")
    assert [e["seq"] for e in r.json()["events"]] == [1, 2]
    r = await api.get("bob", "/api/rooms/area-a/topics")
    assert r.status_code == 403


async def test_a_topic_of_61_characters_is_a_bad_frame(
    server: str, open_client: OpenClient
) -> None:
    """The topic is 1..60 characters after trimming."""
    ann: Client = await open_client(server, "ann")
    frame = {
        "type": "send",
        "room": "theme-one",
        "body": "x",
        "client_id": "t61",
        "topic": "a" * 61,
    }
    try:
        await ann.request(frame)
    except ClientError as exc:
        assert exc.code == "bad_frame"
    else:
        raise AssertionError("a topic of 61 characters was accepted")
    ack = await ann.send("theme-one", "x", topic=" " + "a" * 60 + " ")
    assert ack["seq"] == 1


async def test_search_and_rename(server: str, api: Api, open_client: OpenClient) -> None:
    """`topic:` narrows a search; a moderator's rename is a room event, the old name still finds."""
    rita: Client = await open_client(server, "rita")
    await rita.subscribe("area-a", since=None)
    await rita.send("area-a", "De dijkversterking begint in mei", topic="Dijk")
    await rita.send("area-a", "De dijkversterking is duur", topic="Kosten")
    r = await api.get("ann", "/api/search?q=dijkversterking%20topic:Dijk")
    assert [h["seq"] for h in r.json()["hits"]] == [1]
    body = {"old": "Dijk", "new": "Kosten", "reason": "samengevoegd"}
    r = await api.post("ann", "/api/rooms/area-a/topics/rename", body)
    assert r.status_code == 403
    r = await api.post("rita", "/api/rooms/area-a/topics/rename", body)
    assert r.status_code == 200, r.text
    assert r.json() == {"old": "Dijk", "new": "Kosten", "messages": 1, "seq": 3}
    renamed = await rita.wait_for(lambda f: f.get("type") == "topic_renamed")
    assert (renamed["old"], renamed["new"], renamed["by"]) == ("Dijk", "Kosten", "rita")
    # The old name leads to the topic it became (merged here: both messages).
    r = await api.get("ann", '/api/search?q=dijkversterking%20topic:"Dijk"')
    assert sorted(h["seq"] for h in r.json()["hits"]) == [1, 2]
    r = await api.get("ann", "/api/search?q=dijkversterking&topic=Kosten")
    assert sorted(h["seq"] for h in r.json()["hits"]) == [1, 2]
    r = await api.get("ann", "/api/rooms/area-a/topics")
    assert r.json()["topics"] == [{"name": "Kosten", "count": 2, "last_seq": 2}]


async def test_catchup_groups_what_is_new_by_topic(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """The catch-up page counts each room's new messages per topic."""
    ann: Client = await open_client(server, "ann")
    for body, topic in (("een", "Subsidie"), ("twee", "Subsidie"), ("drie", None)):
        await ann.send("theme-two", body, topic=topic)
    r = await api.get("amy", "/api/catchup?since=last_visit")
    room = next(x for x in r.json()["rooms"] if x["slug"] == "theme-two")
    assert room["topics"] == [{"name": "Subsidie", "new_messages": 2, "first_seq": 1}]

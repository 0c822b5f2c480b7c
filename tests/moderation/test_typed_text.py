"""Bidi overrides and invisible controls never reach storage, on SQLite and PostgreSQL."""

from __future__ import annotations

from persistence.db import Database
from tests.clients import Api, OpenClient
from tests.moderation.conftest import audit_rows

SPOOF = "Betaal naar \u202eLN12BANK0001\u202c"
CLEAN = "Betaal naar LN12BANK0001"


async def test_a_message_over_ws_is_stored_and_delivered_without_overrides(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """The reported spoof, sent and edited over /ws, is delivered and read back in logical order."""
    ann = await open_client(server, "ann")
    amy = await open_client(server, "amy")
    await amy.subscribe("area-a", since=None)
    ack = await ann.send("area-a", SPOOF)
    await amy.wait_seq("area-a", ack["seq"])
    assert amy.events["area-a"][-1]["body"] == CLEAN
    await ann.edit("area-a", ack["message_id"], "\u2067Rekening\u2069 \u200bNL\u200f99")
    edited = await amy.wait_for(lambda f: f.get("type") == "message_edited")
    assert edited["body"] == "Rekening NL99"
    stored = await api.events("amy", "area-a")
    assert [e["body"] for e in stored if e["type"] == "message"] == ["Rekening NL99"]


async def test_topic_meeting_fields_and_reasons_are_cleaned(api: Api, database: Database) -> None:
    """A topic, a meeting's title and place, and an audit reason lose their overrides."""
    r = await api.call(
        "rita", "PATCH", "/api/rooms/area-a", {"topic": SPOOF, "reason": "\u202enieuw"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["room"]["topic"] == CLEAN
    [entry] = await audit_rows(database, "set_topic")
    assert entry.reason == "nieuw"
    meeting = {
        "slug": "meeting-bidi",
        "title": "\u202eBijeenkomst\u202c",
        "theme": "theme-two",
        "date": "2027-01-12",
        "place": "Goes\u2066\u2069",
        "programme": "\ufeffOchtend",
    }
    r = await api.call("ada", "POST", "/api/meetings", meeting)
    assert r.status_code == 201, r.text
    made = r.json()["meeting"]
    assert (made["title"], made["place"], made["programme"]) == ("Bijeenkomst", "Goes", "Ochtend")

"""The typed HTTP wire: bodies and query parameters decoded by Structs, errors naming the field."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from rooms.errors import BadRequest
from web.app import routes
from web.openapi import document
from web.responses import body_as, query_as
from web.wire.moderation import BanIn, MuteIn, ReportsQuery
from web.wire.rooms import EventsQuery


def request(body: bytes = b"", query: str = "") -> Request:
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "headers": [], "query_string": query.encode()}
    return Request(scope, receive)


def refusal(body: bytes, model: type) -> str:
    with pytest.raises(BadRequest) as refused:
        asyncio.run(asyncio.wait_for(body_as(request(body), model), 5))
    return refused.value.message


def test_body_decodes_into_the_struct() -> None:
    """A valid body comes back as the Struct."""
    ban = asyncio.run(body_as(request(b'{"username": "amy", "reason": "x"}'), BanIn))
    assert (ban.username, ban.reason, ban.until) == ("amy", "x", None)


@pytest.mark.parametrize(
    ("raw", "model", "message"),
    [
        (b'{"username": "amy", "reason": "x", "duur": 5}', BanIn, "unknown field 'duur'"),
        (b'{"username": "amy", "reason": "x"}', MuteIn, "field 'minutes' is required"),
        (b'{"username": "amy", "reason": "x", "minutes": 0}', MuteIn, "field 'minutes': "),
        (b'{"username": 5, "reason": "x"}', BanIn, "field 'username': "),
        (b"[1, 2]", BanIn, "request body must be a JSON object"),
        (b"{", BanIn, "request body is not valid JSON"),
    ],
)
def test_body_refusals_name_the_field(raw: bytes, model: type, message: str) -> None:
    """A malformed body is a bad_request that says which field and what is wrong."""
    assert message in refusal(raw, model)


def test_query_converts_and_ignores_empty_values() -> None:
    """Query strings become ints; an empty parameter counts as absent."""
    asked = query_as(request(query="around=7&limit=&after="), EventsQuery)
    assert (asked.around, asked.limit, asked.after) == (7, 100, None)


def test_query_refusal_names_the_parameter() -> None:
    """A parameter out of bounds or not in its enum is refused, by name."""
    for query, name in (("limit=0", "'limit'"), ("status=lost", "'status'")):
        with pytest.raises(BadRequest, match=f"query parameter {name}"):
            query_as(request(query=query), ReportsQuery)


def test_document_has_around_and_every_body() -> None:
    """The generated document lists `?around=` and a real schema for every request body."""
    doc = document(routes())
    events = doc["paths"]["/api/rooms/{slug}/events"]["get"]
    assert "around" in {p["name"] for p in events["parameters"]}
    schemas = doc["components"]["schemas"]
    for item in doc["paths"].values():
        for operation in item.values():
            if "requestBody" in operation:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert schemas[ref.rsplit("/", 1)[1]]["properties"], ref

"""Edge values (dates at the ends of the calendar, forged cursor numbers) answer 400, never 500."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from chat.client import Client
from tests.helpers import bearer, login

EDGE_DATES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31",
    "0001-01-01",
    "0001-01-01T00:00:00Z",
]


class Caller:
    """The server, called with one user's bearer token."""

    def __init__(self, client: httpx.AsyncClient, base: str, token: str) -> None:
        self.client, self.base, self.token = client, base, token

    async def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.client.request(
            method, f"{self.base}{path}", headers=bearer(self.token), **kw
        )


@pytest.fixture
async def ada(server: str, client: httpx.AsyncClient) -> AsyncIterator[Caller]:
    token = await login(client, server, "ada")
    client.cookies.clear()
    yield Caller(client, server, token)


def assert_bad_request(r: httpx.Response, field: str) -> None:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "bad_request" and field in error["message"], error


@pytest.mark.parametrize("name", ["after", "before"])
async def test_search_dates_beyond_the_calendar_are_400(ada: Caller, name: str) -> None:
    """`after`/`before` whose UTC moment or storage falls outside the range: 400 naming it."""
    for value in EDGE_DATES:
        r = await ada.call("GET", "/api/search", params={"q": "water", name: value})
        assert r.status_code in (200, 400), (value, r.text)
        if r.status_code == 400:
            assert name in r.json()["error"]["message"]
    for value in EDGE_DATES[:2]:
        assert_bad_request(
            await ada.call("GET", "/api/search", params={"q": "water", name: value}), name
        )


async def test_ban_until_year_9999_is_400(ada: Caller) -> None:
    """A ban `until` at the end of year 9999 (or beyond after the offset) is refused with 400."""
    for until in ("9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "9999-06-01T00:00:00Z"):
        r = await ada.call(
            "POST",
            "/api/rooms/area-a/bans",
            json={"username": "amy", "reason": "test", "until": until},
        )
        assert_bad_request(r, "until")


async def test_meeting_in_year_9999_is_400(ada: Caller) -> None:
    """A meeting dated in year 9999 (a date or a date-time) is refused with 400 naming 'date'."""
    for day in ("9999-12-31", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        r = await ada.call(
            "POST",
            "/api/meetings",
            json={
                "slug": "verre-toekomst",
                "title": "Ver weg",
                "theme": "theme-one",
                "date": day,
                "place": "Tijnje",
            },
        )
        assert_bad_request(r, "date")


def _edited(cursor: str, **fields: Any) -> str:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    data = orjson.loads(raw)
    data.update(fields)
    # orjson refuses ints beyond 64 bits: write those by hand, as a forger would.
    text = "{" + ",".join(f'"{k}":{_number(v)}' for k, v in data.items()) + "}"
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _number(value: Any) -> str:
    if isinstance(value, float) and value != value:
        return "NaN"
    return orjson.dumps(value).decode() if not isinstance(value, int | float) else repr(value)


async def _first_cursor(ada: Caller, sort: str) -> str:
    async with Client(ada.base, ada.token, reconnect=False) as ws:
        for n in range(3):
            await ws.send("area-a", f"waterpeil meting {n}")
    r = await ada.call("GET", "/api/search", params={"q": "waterpeil", "limit": 1, "sort": sort})
    assert r.status_code == 200, r.text
    cursor: str = r.json()["next_cursor"]
    assert cursor
    return cursor


# Numbers no hit of that order can have: refused. A relevance score of 1e300 is a float
# like any other (nothing follows it), so only "never 500" holds for it.
REFUSED: list[dict[str, Any]] = [
    {"k": 2**63 + 5},
    {"i": 2**63 + 5},
    {"i": -1},
    {"k": float("nan")},
]
# JSON parsing turns -(2**63) - 5 into a float: a score, but no time.
REFUSED_RECENT: list[dict[str, Any]] = [
    {"k": 1e300},
    {"k": -1e300},
    {"k": 2**62},
    {"k": 1.5},
    {"k": -(2**63) - 5},
]
HARMLESS: list[dict[str, Any]] = [
    {"k": 1e300},
    {"k": -1e300},
    {"k": 2**62},
    {"s": 2**62, "b": 2**62},
    {"s": 1, "b": 2**63 + 5},
    {"s": 2**40, "i": 2**62},
]


@pytest.mark.parametrize("sort", ["relevance", "recent"])
async def test_forged_cursor_numbers_are_400(ada: Caller, sort: str) -> None:
    """A cursor with a number beyond 64 bits, 1e300 or an out-of-range time: 400, not 500."""
    cursor = await _first_cursor(ada, sort)
    refused = REFUSED + (REFUSED_RECENT if sort == "recent" else [])
    for fields in refused + HARMLESS:
        r = await ada.call(
            "GET",
            "/api/search",
            params={
                "q": "waterpeil",
                "limit": 1,
                "sort": sort,
                "cursor": _edited(cursor, **fields),
            },
        )
        assert r.status_code in (200, 400), (fields, r.text)
        if fields in refused:
            assert_bad_request(r, "cursor")

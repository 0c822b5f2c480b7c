"""GET /api/search and GET /api/rooms/{slug}/events?around= over HTTP, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import insert, select

from persistence.models import Meeting, Theme
from persistence.search import MARK_END, MARK_START
from tests.helpers import bearer, login
from tests.search.conftest import Corpus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def get(
    client: httpx.AsyncClient, server: str, token: str, path: str, **params: object
) -> httpx.Response:
    return await client.get(f"{server}{path}", params=params, headers=bearer(token))


async def test_hits_have_the_contract_shape(
    server: str, client: httpx.AsyncClient, corpus: Corpus
) -> None:
    """A hit carries its kind, room, seq, message_id, author, created_at and a marked snippet."""
    mid = await corpus.post("theme-one", "ann", "De boeren <b>willen</b> duidelijkheid.", at=T0)
    token = await login(client, server, "bob")
    r = await get(client, server, token, "/api/search", q="boer")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is None
    assert body["hits"] == [
        {
            "kind": "message",
            "room": "theme-one",
            "seq": 1,
            "message_id": mid,
            "author": {
                "username": "ann",
                "display_name": "Ann Aalders",
                "organisation": "Gemeente A",
                "layer": "gemeente",
            },
            "created_at": "2026-03-01T12:00:00.000Z",
            "snippet": f"De {MARK_START}boeren{MARK_END} <b>willen</b> duidelijkheid.",
            "matched_via": [],
        }
    ]


BAD_INPUT: list[dict[str, str]] = [
    {"q": ""},
    {"q": "   "},
    {"q": "-mest"},
    {"q": "b*"},
    {"q": "boer", "after": "gisteren"},
    {"q": "boer", "before": "2026-13-01"},
    {"q": "boer", "cursor": "nonsense"},
    {"q": "boer", "limit": "0"},
    {"q": "boer", "limit": "101"},
    {"q": "boer", "limit": "veel"},
    {"q": "boer", "sort": "alphabet"},
    {"q": "boer", "layer": "europa"},
    {"q": "boer", "author": "Not A Username!"},
    {"q": "boer", "since_meeting": "no-such-meeting"},
    {"q": "boer", "mark": "ooit"},
    {"q": "boer", "mark": "vraag", "open": "misschien"},
    {"q": "boer", "theme": "Geen Slug!"},
    {"q": "x" * 501},
]


async def test_bad_input_is_a_400_with_a_message(server: str, client: httpx.AsyncClient) -> None:
    """Empty or unsearchable q, bad dates, cursors, limits, sorts and layers: 400 bad_request."""
    token = await login(client, server, "bob")
    for params in BAD_INPUT:
        r = await get(client, server, token, "/api/search", **params)
        assert r.status_code == 400, (params, r.text)
        error = r.json()["error"]
        assert error["code"] == "bad_request" and error["message"], params


async def test_room_parameter_respects_access(
    server: str, client: httpx.AsyncClient, corpus: Corpus
) -> None:
    """room= of an unreadable room is 403, of an unknown room 404; without login 401."""
    await corpus.post("area-a", "ann", "Grondprijzen in gebied A.")
    bob = await login(client, server, "bob")
    r = await get(client, server, bob, "/api/search", q="grondprijzen", room="area-a")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await get(client, server, bob, "/api/search", q="grondprijzen", room="no-such-room")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await get(client, server, bob, "/api/search", q="grondprijzen")
    assert r.status_code == 200 and r.json() == {"hits": [], "next_cursor": None}
    client.cookies.clear()
    r = await client.get(f"{server}/api/search", params={"q": "grondprijzen"})
    assert r.status_code == 401
    ann = await login(client, server, "ann")
    r = await get(client, server, ann, "/api/search", q="grondprijzen", room="area-a")
    assert r.status_code == 200 and len(r.json()["hits"]) == 1


async def test_paging_over_http(server: str, client: httpx.AsyncClient, corpus: Corpus) -> None:
    """limit and next_cursor walk through every hit once, for both sorts."""
    posted = {
        await corpus.post("theme-two", "ann", f"Pacht {i}.", at=T0 + timedelta(hours=i))
        for i in range(5)
    }
    token = await login(client, server, "amy")
    for sort in ("relevance", "recent"):
        seen: list[int] = []
        params: dict[str, object] = {"q": "pacht", "limit": 2, "sort": sort}
        while True:
            body = (await get(client, server, token, "/api/search", **params)).json()
            seen += [h["message_id"] for h in body["hits"]]
            if body["next_cursor"] is None:
                break
            params["cursor"] = body["next_cursor"]
        assert sorted(seen) == sorted(posted)


async def test_dates_and_since_meeting(
    server: str, client: httpx.AsyncClient, corpus: Corpus
) -> None:
    """after/before take Dutch calendar dates; since_meeting starts at the theme's last meeting."""
    # 23:30 UTC on 28 February is already 1 March in the Netherlands.
    late_feb = await corpus.post(
        "theme-one", "ann", "Pacht eind februari.", at=T0 - timedelta(hours=12, minutes=30)
    )
    mid = await corpus.post("theme-one", "ann", "Pacht half maart.", at=T0 + timedelta(days=14))
    async with corpus.db.write() as session:
        theme = (await session.execute(select(Theme.id).where(Theme.slug == "theme-one"))).scalar()
        await session.execute(
            insert(Meeting).values(
                slug="meeting-past",
                title="Bijeenkomst maart",
                theme_id=theme,
                starts_at=T0 + timedelta(days=7),
                place="Tijnje",
                programme="",
            )
        )
    token = await login(client, server, "bob")

    async def found(**params: object) -> set[int]:
        r = await get(client, server, token, "/api/search", q="pacht", **params)
        assert r.status_code == 200, r.text
        return {h["message_id"] for h in r.json()["hits"]}

    assert await found(after="2026-03-01") == {late_feb, mid}
    assert await found(before="2026-03-01") == set()
    assert await found(after="2026-03-01T00:00:00Z") == {mid}
    assert await found(since_meeting="theme-one") == {mid}
    assert await found(since_meeting="meeting-past") == {mid}
    r = await get(client, server, token, "/api/search", q="pacht", since_meeting="theme-one")
    assert r.json()["since_meeting"]["slug"] == "meeting-past"
    # theme-two has had no meeting: no lower bound.
    assert await found(since_meeting="theme-two") == {late_feb, mid}


async def test_events_around_a_seq(server: str, client: httpx.AsyncClient, corpus: Corpus) -> None:
    """around=SEQ gives the events around it, ascending, with has_more_before/after."""
    for i in range(20):
        await corpus.post("theme-one", "ann", f"Bericht {i + 1}")
    token = await login(client, server, "bob")
    path = "/api/rooms/theme-one/events"
    body = (await get(client, server, token, path, around=10, limit=5)).json()
    assert [e["seq"] for e in body["events"]] == [8, 9, 10, 11, 12]
    assert body["has_more_before"] is True and body["has_more_after"] is True
    assert body["last_seq"] == 20
    body = (await get(client, server, token, path, around=2, limit=6)).json()
    assert [e["seq"] for e in body["events"]] == [1, 2, 3, 4, 5, 6]
    assert body["has_more_before"] is False and body["has_more_after"] is True
    body = (await get(client, server, token, path, around=20, limit=1)).json()
    assert [e["seq"] for e in body["events"]] == [20]
    assert body["has_more_before"] is True and body["has_more_after"] is False
    r = await get(client, server, token, path, around=3, after=1)
    assert r.status_code == 400
    r = await get(client, server, token, "/api/rooms/area-a/events", around=1)
    assert r.status_code == 403

"""GET /api/people: the person picker finds people the asker shares a room with, by name."""

from __future__ import annotations

import asyncio

from tests.clients import Api


async def test_people_by_name_within_shared_rooms(api: Api) -> None:
    """By display name, username or organisation; narrowed to a room's readers; refused
    for rooms one cannot read, for strangers, for a blank query; at most ten."""
    r = await api.get("ann", "/api/people?q=roomh")
    assert r.status_code == 200, r.text
    assert r.json()["people"] == [
        {
            "username": "rita",
            "display_name": "Rita Roomhoeder",
            "organisation": "Provincie A",
            "layer": "provincie",
        }
    ]
    assert [
        p["username"] for p in (await api.get("ann", "/api/people?q=BOB")).json()["people"]
    ] == ["bob"]
    found = (await api.get("ann", "/api/people?q=programmabureau")).json()["people"]
    assert sorted(p["username"] for p in found) == ["ada", "mo"]
    # The team of area-a, its moderator and the staff read it; bob (area-b) does not.
    in_area = (await api.get("ann", "/api/people?q=a&room=area-a")).json()["people"]
    assert {p["username"] for p in in_area} == {"ada", "amy", "ann", "mo", "rita"}
    assert (await api.get("ann", "/api/people?q=bob&room=area-a")).json()["people"] == []
    assert (await api.get("ann", "/api/people?q=b&room=area-b")).status_code == 403
    assert (await api.get("ann", "/api/people?q=b&room=nowhere")).status_code == 404
    assert (await api.get("ann", "/api/people?q=%25")).json()["people"] == []  # a literal %
    assert (await api.get("ann", "/api/people?q=a&limit=2")).json()["people"].__len__() == 2
    assert (await api.get("ann", "/api/people?q=a&limit=50")).status_code == 400
    assert (await api.get("ann", "/api/people?q=%20%20")).status_code == 400
    assert (await api.get("ann", "/api/people")).status_code == 400
    assert (await api.get(None, "/api/people?q=ann")).status_code == 401


async def test_people_search_is_rate_limited(api: Api) -> None:
    """A burst beyond the bucket is 429 with Retry-After, for that user only."""
    assert (await api.get("amy", "/api/people?q=a")).status_code == 200  # signs amy in
    # Sent at once: one after another, slow requests would let the bucket refill (2/s).
    burst = await asyncio.gather(*(api.get("amy", "/api/people?q=a") for _ in range(59)))
    refused = [r for r in burst if r.status_code == 429]
    # Not asked again afterwards: the burst itself may take long enough to refill a token.
    assert refused and all(r.headers.get("Retry-After") for r in refused)
    assert (await api.get("bob", "/api/people?q=a")).status_code == 200

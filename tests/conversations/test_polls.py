"""Polls: created and voted as room events, single or multiple, named or anonymous."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from chat.client import Client
from persistence.accounts import actor_for
from persistence.db import Database
from persistence.models import Event, Poll, PollBallot, ServerSecret, User
from persistence.polls import BALLOT_SECRET, ballot_secret
from rooms.errors import Conflict
from rooms.polls import ballot_key
from tests.clients import Api, OpenClient
from web.actions import polls
from web.actions.polls import NewPoll

POLL = {"question": "Welke datum past?", "options": ["di 3 maart", "do 5 maart", "vr 6 maart"]}


async def test_votes_are_room_events_with_the_whole_result(
    server: str, api: Api, open_client: OpenClient
) -> None:
    """Creating and voting are room events; a vote can be changed; named polls say who."""
    ann: Client = await open_client(server, "ann")
    await ann.subscribe("theme-one", since=None)
    r = await api.post("amy", "/api/rooms/theme-one/polls", POLL)
    assert r.status_code == 201, r.text
    poll = r.json()["poll"]
    created = await ann.wait_for(lambda f: f.get("type") == "poll_created")
    assert created["question"] == POLL["question"] and created["counts"] == [0, 0, 0]
    vote = f"/api/rooms/theme-one/polls/{poll['poll_id']}/vote"
    assert (await api.post("ann", vote, {"choices": [1]})).json()["poll"]["counts"] == [0, 1, 0]
    r = await api.post("bob", vote, {"choices": [1]})
    assert r.json()["poll"]["mine"] == [1]
    changed = await api.post("ann", vote, {"choices": [2]})
    assert changed.json()["poll"]["counts"] == [0, 1, 1]
    last = await ann.wait_for(lambda f: f.get("type") == "poll_votes" and f["counts"] == [0, 1, 1])
    assert last["votes"] == {"0": [], "1": ["bob"], "2": ["ann"]} and last["by"] == "ann"
    assert (await api.post("bob", vote, {"choices": [0, 1]})).status_code == 400
    listed = (await api.get("bob", "/api/rooms/theme-one/polls")).json()["polls"]
    assert listed[0]["counts"] == [0, 1, 1] and listed[0]["mine"] == [1]


async def test_anonymous_ballots_name_no_voter(
    server: str, api: Api, database: Database, open_client: OpenClient
) -> None:
    """An anonymous poll's events, rows and answers link no voter to a choice."""
    ann: Client = await open_client(server, "ann")
    await ann.subscribe("theme-one", since=None)
    body = {**POLL, "anonymous": True, "multiple": True}
    poll = (await api.post("mo", "/api/rooms/theme-one/polls", body)).json()["poll"]
    vote = f"/api/rooms/theme-one/polls/{poll['poll_id']}/vote"
    await api.post("ann", vote, {"choices": [0, 2]})
    await api.post("bob", vote, {"choices": [2]})
    got = await ann.wait_for(lambda f: f.get("type") == "poll_votes" and f["voters"] == 2)
    assert got["counts"] == [1, 0, 2] and "votes" not in got and "by" not in got
    async with database.read() as session:
        ballots = (await session.execute(select(PollBallot))).scalars().all()
        assert all(b.user_id is None and not b.voter.startswith("u") for b in ballots)
        votes = (await session.execute(select(Event).where(Event.type == "poll_votes"))).scalars()
        assert all(e.actor_id is None for e in votes)
    mine = (await api.get("ann", "/api/rooms/theme-one/polls")).json()["polls"][0]["mine"]
    assert mine == [0, 2]
    assert (await api.post("ann", vote, {"choices": [1]})).json()["poll"]["counts"] == [0, 1, 1]


async def test_bad_polls_and_closed_polls(server: str, api: Api, database: Database) -> None:
    """One option, eleven options, a past closing time: 400; a vote after closing: 409."""
    for options in (["alleen"], [str(i) for i in range(11)], ["a", "a"]):
        r = await api.post(
            "ann", "/api/rooms/theme-one/polls", {"question": "?", "options": options}
        )
        assert r.status_code == 400, options
    past = {**POLL, "closes_at": "2020-01-01T10:00"}
    assert (await api.post("ann", "/api/rooms/theme-one/polls", past)).status_code == 400
    poll = (await api.post("ann", "/api/rooms/theme-one/polls", POLL)).json()["poll"]
    async with database.write() as session:
        row = await session.get(Poll, poll["poll_id"])
        assert row is not None
        row.closes_at = datetime.now(UTC) - timedelta(minutes=1)
    r = await api.post(
        "ann", f"/api/rooms/theme-one/polls/{poll['poll_id']}/vote", {"choices": [0]}
    )
    assert r.status_code == 409
    r = await api.post("bob", "/api/rooms/area-a/polls", POLL)
    assert r.status_code == 403


async def test_anonymous_ballots_are_keyed_with_a_kept_random_secret(db_url: str) -> None:
    """The ballot key is random, made once and kept in the database (every process gets the
    same one), never a default: no hash of a known key and a user id finds a ballot. A vote
    is still changed in place until the poll closes."""
    first, second = Database(db_url), Database(db_url)
    try:
        async with first.read() as session:
            users = {u.username: u for u in (await session.execute(select(User))).scalars()}
            actors = {n: await actor_for(session, u) for n, u in users.items()}
        made = NewPoll("Welke dag?", ["ma", "di", "wo"], False, True, None)
        found, _ = await polls.create(first, actors["mo"], "theme-one", made)
        poll_id = found["poll_id"]
        # Two processes (two engines), the same voter: one ballot, changed in place.
        await polls.vote(first, actors["ann"], "theme-one", poll_id, [0])
        _, mine, _ = await polls.vote(second, actors["ann"], "theme-one", poll_id, [2])
        await polls.vote(second, actors["bob"], "theme-one", poll_id, [2])
        assert mine == [2]
        async with first.read() as session:
            kept = (await session.execute(select(ServerSecret))).scalars().all()
            ballots = (await session.execute(select(PollBallot))).scalars().all()
        assert [k.name for k in kept] == [BALLOT_SECRET] and len(kept[0].value) == 64
        assert await ballot_secret(second) == await ballot_secret(first) == kept[0].value
        assert sorted(b.choices for b in ballots) == [[2], [2]]
        assert all(b.user_id is None for b in ballots)
        # Neither a user id nor a hash of one under a guessable key names a ballot.
        guesses = {"", "-", os.environ["WERKPLAATS_SECRET_KEY"]}
        for user in users.values():
            for key in guesses:
                message = f"poll:{poll_id}:user:{user.id}".encode()
                guess = hmac.new(key.encode() or b"-", message, hashlib.sha256).hexdigest()
                assert guess not in {b.voter for b in ballots}
        for secret in ("", "-", "short"):
            with pytest.raises(ValueError):
                ballot_key(secret, poll_id, users["ann"].id, True)
        async with first.write() as session:
            row = await session.get(Poll, poll_id)
            assert row is not None
            row.closes_at = datetime.now(UTC) - timedelta(seconds=1)
        with pytest.raises(Conflict):
            await polls.vote(first, actors["ann"], "theme-one", poll_id, [1])
    finally:
        await first.dispose()
        await second.dispose()

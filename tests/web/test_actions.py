"""The acts called directly, as the console commands call them: what they return to publish."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest

from chat.realtime import Realtime
from persistence import access_changes
from persistence.access_changes import AccessChange
from persistence.accounts import actor_for, user_by_name
from persistence.db import Database
from persistence.events import StoredEvent
from persistence.moderation import Source
from tests.moderation.conftest import audit_rows
from web.actions import accounts, moderation
from web.actions.common import Acting
from web.actions.publish import NOTHING, Published, Revoked, publish

OPERATOR = Acting(Source("cli:test", "cli@test"))


async def member(database: Database, username: str) -> Acting:
    async with database.read() as session:
        user = await user_by_name(session, username)
        assert user is not None
        return Acting.member(await actor_for(session, user), "127.0.0.1")


async def user_id(database: Database, username: str) -> int:
    async with database.read() as session:
        user = await user_by_name(session, username, include_disabled=True)
        assert user is not None
        return user.id


async def test_ban_returns_the_reading_it_ends(database: Database) -> None:
    """A ban returns `removed: banned` for the target in that room, and is audited."""
    rita = await member(database, "rita")
    row, done = await moderation.ban(database, rita, "area-a", "amy", "herhaald", None)
    assert row.until is None and row.reason == "herhaald"
    assert done == Published(revoked=(Revoked("area-a", await user_id(database, "amy"), "banned"),))
    [entry] = await audit_rows(database, "ban")
    assert (entry.actor, entry.target, entry.details) == ("rita", "amy", {"until": None})


async def test_mute_shares_the_ban_act_and_tells_only_the_muted(database: Database) -> None:
    """A mute takes the same path as a ban; muted users still read, so nothing goes to the
    room: only the muted user's own connections hear of it (`muted`)."""
    rita = await member(database, "rita")
    row, done = await moderation.mute(database, rita, "area-a", "amy", "even stil", 5)
    amy = await user_id(database, "amy")
    assert row.until is not None and done.events == () and done.revoked == ()
    [(to, frame)] = done.to_users
    assert to == amy and frame.room == "area-a" and frame.reason == "even stil"
    assert frame.until is not None
    [entry] = await audit_rows(database, "mute")
    assert entry.details["minutes"] == 5


async def test_operator_removing_a_member_revokes_reading(database: Database) -> None:
    """The console's member removal returns `membership_ended` for the area room."""
    _, _, added = await moderation.change_member(database, OPERATOR, "add", "area-a", "bob")
    assert added == NOTHING
    room, user, done = await moderation.change_member(database, OPERATOR, "remove", "area-a", "bob")
    assert done.revoked == (Revoked(room.slug, user.id, "membership_ended"),)
    assert [e.actor for e in await audit_rows(database)] == ["cli:test", "cli:test"]


async def test_disabling_an_account_returns_its_access_change(database: Database) -> None:
    """Disabling returns one access change for the user; enabling returns nothing."""
    done = await accounts.set_account_disabled(database, OPERATOR, "amy", True)
    amy = await user_id(database, "amy")
    assert done == Published(access=(AccessChange(amy, reason=access_changes.DISABLED),))
    assert await accounts.set_account_disabled(database, OPERATOR, "amy", False) == NOTHING


class Recorder:
    """Stands in for the real-time hub: records each call; `publish_event` fails."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def publish_event(self, room: str, event: StoredEvent) -> None:
        raise RuntimeError("broker down")

    async def access_revoked(self, room: str, user_id: int, reason: str) -> None:
        self.calls.append(("revoked", (room, user_id, reason)))

    async def access_changed(self, changes: list[AccessChange]) -> None:
        self.calls.append(("access", changes))

    async def session_revoked(self, user_id: int, token_hash: str) -> None:
        self.calls.append(("session", (user_id, token_hash)))


async def test_publish_sends_the_rest_when_one_step_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The after-commit step logs a failed send and still sends everything else."""
    change = AccessChange(7, reason=access_changes.DISABLED)
    published = Published(
        events=(("area-a", StoredEvent(3, "message_pinned", 12, {"by": "amy"})),),
        revoked=(Revoked("area-a", 7, "banned"),),
        access=(change,),
        sessions_ended=(7,),
    )
    recorder = Recorder()
    with caplog.at_level(logging.ERROR, "werkplaats.actions"):
        await publish(cast(Realtime, recorder), published)
    assert recorder.calls == [
        ("revoked", ("area-a", 7, "banned")),
        ("access", [change]),
        ("session", (7, "*")),
    ]
    assert "publishing message_pinned seq 3 of area-a failed" in caplog.text

"""The Core reads of connection set-up answer exactly what the ORM reference reads
(`tests.persistence.oracles`) answer."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from datetime import timedelta
from typing import Any

import asyncpg
import msgspec
import pytest
from sqlalchemy import Connection, select, update
from sqlalchemy.exc import DBAPIError

from persistence import accounts, handshake, moderation
from persistence.db import Database
from persistence.events import edit_message, hide_message
from persistence.models import (
    Ban,
    Meeting,
    Member,
    Membership,
    Message,
    Mute,
    ReadMarker,
    Room,
    Session,
    User,
    utcnow,
)
from rooms.conversations import direct_slug
from tests.helpers import PG_ADMIN_DSN, POSTGRES_ONLY
from tests.persistence import oracles
from tests.persistence.posting import post
from web.wire.meetings import Meeting as MeetingWire

USERS = ("ann", "amy", "bob", "rita", "mo", "ada")


async def _history(db: Database) -> None:
    """Messages with mentions, an edit, a hidden one, read markers and bans."""
    async with db.read() as s:
        users = {u.username: u for u in (await s.execute(select(User))).scalars()}
        rooms = {r.slug: r for r in (await s.execute(select(Room))).scalars()}
    n = 0
    for slug in ("theme-one", "area-a", "meeting-one"):
        for i, author in enumerate(("amy", "ann", "mo", "amy", "ann", "ada")):
            n += 1
            body = f"bericht {i} @ann @Amy" if i % 2 == 0 else f"bericht {i} voor @bob"
            posted = await post(db, slug, author, body, f"c{n}")
            if i in (1, 3):
                async with db.write() as s:
                    message = await s.get_one(Message, posted.message_id)
                    if i == 1:
                        await edit_message(s, message, "nu met @ann", users[author].id)
                    else:
                        await hide_message(s, message, users["mo"], "weg")
        # An `@` that mentions nobody, and one in capitals.
        await post(db, slug, "rita", "mail ann@example.nl", f"m{n}")
        await post(db, slug, "mo", "HOI @ANN.", f"h{n}")
        # Group mentions: a layer (amy's), the area team (area-a's members, in area-a only).
        await post(db, slug, "mo", "Vraag aan @Waterschap", f"w{n}")
        await post(db, slug, "mo", "@gebied en @provincie, kijk even", f"g{n}")
    async with db.write() as s:
        s.add(ReadMarker(user_id=users["ann"].id, room_id=rooms["theme-one"].id, seq=3))
        s.add(ReadMarker(user_id=users["amy"].id, room_id=rooms["area-a"].id, seq=99))
        # Markers just before an edit, a hide and the user's own message.
        s.add(ReadMarker(user_id=users["ann"].id, room_id=rooms["area-a"].id, seq=2))
        s.add(ReadMarker(user_id=users["mo"].id, room_id=rooms["meeting-one"].id, seq=4))
        s.add(ReadMarker(user_id=users["ada"].id, room_id=rooms["theme-one"].id, seq=5))
        s.add(Ban(room_id=rooms["theme-one"].id, user_id=users["bob"].id, until=None))
        past = utcnow() - timedelta(hours=1)
        s.add(Ban(room_id=rooms["meeting-one"].id, user_id=users["amy"].id, until=past))
        s.add(Ban(room_id=rooms["theme-one"].id, user_id=users["mo"].id, until=None))


async def test_room_list_is_the_orm_room_list(database: Database) -> None:
    """Every user's room list (bans, markers, unread, mentions, meetings) equals the ORM one."""
    await _history(database)
    for name in USERS:
        async with database.read() as s:
            user = await accounts.user_by_name(s, name)
            assert user is not None
            actor = await oracles.actor(s, user)
            now = utcnow()
            expected = await oracles.room_list(s, actor, now, user.layer)
            conn = await s.connection()
            got = await conn.run_sync(
                handshake.read_room_list, actor, now, handshake.MeetingsRead(), user.layer
            )
        assert msgspec.to_builtins(got) == expected, name
        # The set-up path: PostgreSQL in autocommit, straight on the driver.
        meetings = database.part(handshake.MeetingsRead)
        again = await handshake.run(
            database, handshake.read_room_list, actor, now, meetings, user.layer
        )
        assert again == got, name


async def test_login_is_the_live_session_with_its_permissions(database: Database) -> None:
    """A live session gives the user and actor of the ORM reads; revoked or expired: None."""
    await _sessions(database)
    async with database.read() as s:
        conn = await s.connection()
        for name in USERS:
            found = await conn.run_sync(handshake.read_login, f"live-{name}", utcnow())
            user = await accounts.user_by_name(s, name)
            assert found is not None and user is not None
            assert found.actor == await oracles.actor(s, user)
            assert found.actor == await conn.run_sync(handshake.read_actor, user.id)
            assert found.actor == await accounts.actor_for(s, user)
            for field in fields(Member):
                assert getattr(found.user, field.name) == getattr(user, field.name)
            # What every request carries of its user holds no password hash.
            assert not hasattr(found.user, "password_hash")
        for token in ("gone", "old", "never-issued"):
            assert await conn.run_sync(handshake.read_login, token, utcnow()) is None
        assert await conn.run_sync(handshake.read_actor, 10_000) is None


@POSTGRES_ONLY
async def test_set_up_reads_survive_a_dropped_connection(database: Database) -> None:
    """PostgreSQL keeps set-up connections without a pre-ping: one the server dropped is
    replaced, and the read answers as if nothing happened."""
    first = await handshake.run(database, handshake.read_room_access, "theme-one", 1)
    assert first is not None
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        name = database.url.rsplit("/", 1)[1]
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
            name,
        )
        assert killed >= 1
    finally:
        await admin.close()
    again = await handshake.run(database, handshake.read_room_access, "theme-one", 1)
    assert again == first


async def test_a_read_that_failed_in_the_database_leaves_the_next_one_working(
    database: Database,
) -> None:
    """A set-up read's connection is kept between reads: one the database failed (here a
    statement on a table that does not exist) is not reused half-way through a transaction."""

    def broken(conn: Connection) -> None:
        conn.exec_driver_sql("SELECT * FROM no_such_table")

    first = await handshake.run(database, handshake.read_room_access, "theme-one", 1)
    for _ in range(2):
        with pytest.raises(DBAPIError):
            await handshake.run(database, broken)
        assert await handshake.run(database, handshake.read_room_access, "theme-one", 1) == first


async def _rooms_of(db: Database, name: str) -> dict[str, dict[str, object]]:
    """`name`'s room list as `hello` reads it, by slug."""
    async with db.read() as s:
        user = await accounts.user_by_name(s, name)
        assert user is not None
        actor = await accounts.actor_for(s, user)
    meetings = db.part(handshake.MeetingsRead)
    rooms = await handshake.run(db, handshake.read_room_list, actor, utcnow(), meetings, user.layer)
    return {r.slug: msgspec.to_builtins(r) for r in rooms}


async def test_a_new_meeting_is_in_the_very_next_room_list(database: Database) -> None:
    """The meetings read is shared by set-ups, but a meeting made since (by any process: here
    straight in the database) is in the next room list: its room shows it."""
    before = await _rooms_of(database, "ann")
    assert before["meeting-one"]["next_meeting"] is not None
    async with database.write() as s:
        theme = await moderation.theme_by_slug(s, "theme-one")
        assert theme is not None
        await moderation.create_meeting(
            s,
            slug="meeting-two",
            title="Tweede bijeenkomst",
            theme=theme,
            starts_at=utcnow() + timedelta(days=3),
            place="Assen",
            programme="",
        )
    after = await _rooms_of(database, "ann")
    upcoming = after["meeting-two"]["next_meeting"]
    assert isinstance(upcoming, dict) and upcoming["place"] == "Assen"
    # Part two's meeting object, but for the meeting page's counts and own registration.
    assert set(upcoming) == set(MeetingWire.__struct_fields__) - {
        "counts",
        "my_registration",
        "my_position",
    }
    assert (upcoming["status"], upcoming["capacity"], upcoming["ends_at"]) == (
        "planned",
        None,
        None,
    )
    # Three days ahead, it is now the theme's next meeting, also for its theme room.
    theme_room_next = after["theme-one"]["next_meeting"]
    assert isinstance(theme_room_next, dict) and theme_room_next["slug"] == "meeting-two"


async def test_a_changed_meeting_is_read_again_after_the_ttl_or_when_forgotten(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to an existing meeting made elsewhere shows within `MEETINGS_TTL`; one made
    in this process (`MeetingsRead.forget`, as the community load calls it) at once."""
    monkeypatch.setattr(handshake, "MEETINGS_TTL", 3600.0)

    async def place() -> object:
        upcoming = (await _rooms_of(database, "ann"))["meeting-one"]["next_meeting"]
        assert isinstance(upcoming, dict)
        return upcoming["place"]

    async def move_to(where: str) -> None:
        async with database.write() as s:
            await s.execute(update(Meeting).values(place=where))

    first = await place()
    await move_to("Emmen")
    assert await place() == first  # within the TTL: the read is shared
    database.part(handshake.MeetingsRead).forget()
    assert await place() == "Emmen"
    await move_to("Hoogeveen")
    monkeypatch.setattr(handshake, "MEETINGS_TTL", 0.0)
    assert await place() == "Hoogeveen"


@POSTGRES_ONLY
async def test_room_access_of_many_users_is_each_ones_own(database: Database) -> None:
    """The access read shared by a room's subscribers answers for each user what the read
    of that user alone answers: the room's facts with their own ban and mute."""
    await _history(database)
    async with database.write() as s:
        room = (await s.execute(select(Room).where(Room.slug == "theme-one"))).scalar_one()
        ann = await accounts.user_by_name(s, "ann")
        assert ann is not None
        s.add(Mute(room_id=room.id, user_id=ann.id, until=utcnow() + timedelta(hours=1)))
    async with database.read() as s:
        ids = [u.id for u in (await s.execute(select(User))).scalars()]
    for slug in ("theme-one", "meeting-one", "area-a"):
        many = await handshake.run(database, handshake.read_room_access_of, slug, ids)
        assert set(many) == set(ids)
        for user_id in ids:
            alone = await handshake.run(database, handshake.read_room_access, slug, user_id)
            assert many[user_id] == alone, (slug, user_id)
    assert await handshake.run(database, handshake.read_room_access_of, "no-such", ids) == {}


async def _direct(db: Database, names: tuple[str, ...]) -> str:
    """A direct conversation of these users; its slug."""
    async with db.write() as s:
        ids = [u.id for u in (await s.execute(select(User).where(User.username.in_(names))))
               .scalars()]  # fmt: skip
        slug = direct_slug(ids)
        room = Room(slug=slug, name=slug, kind="direct", topic="", created_at=utcnow())
        s.add(room)
        await s.flush()
        s.add_all(Membership(room_id=room.id, user_id=i, joined_at=utcnow()) for i in ids)
    return slug


async def _sessions(db: Database) -> None:
    """A live session `live-NAME` for every user; ann's `gone` revoked, `old` expired."""
    async with db.write() as s:
        for name in USERS:
            user = await accounts.user_by_name(s, name)
            assert user is not None
            await accounts.create_session(s, user.id, f"live-{name}", utcnow() + timedelta(hours=1))
        ann = await accounts.user_by_name(s, "ann")
        assert ann is not None
        for token in ("gone", "old"):
            await accounts.create_session(s, ann.id, token, utcnow() + timedelta(hours=1))
    async with db.write() as s:
        await accounts.revoke_session(s, "gone")
        await s.execute(
            update(Session)
            .where(Session.token_hash == "old")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def _alone(
    db: Database, token: str, now: Any, meetings: handshake.MeetingsRead
) -> tuple[handshake.Login, list[handshake.RoomListing]] | None:
    """One upgrade's set-up read on its own: a batch of one."""
    [found] = await handshake.run(db, handshake.read_arrivals, [token], now, meetings)
    return found


async def test_arrivals_read_together_are_each_ones_own(database: Database) -> None:
    """The set-up reads of several upgrades at once (the room lists read together) give
    each token what its read alone gives: its own user and rooms; a revoked, expired or
    unknown token in the batch gives None."""
    await _history(database)
    await _sessions(database)
    # Direct conversations: one two of the batch share, one of ann's alone, one with news.
    directs = {
        await _direct(database, ("ann", "bob")): {"ann", "bob"},
        await _direct(database, ("ann", "amy", "mo")): {"ann", "amy", "mo"},
    }
    await post(database, next(iter(directs)), "bob", "hoi @ann", "d1")
    tokens = ["live-bob", "gone", *(f"live-{n}" for n in USERS), "old", "live-ann", "nope"]
    meetings = database.part(handshake.MeetingsRead)
    now = utcnow()
    together = await handshake.run(database, handshake.read_arrivals, tokens, now, meetings)
    assert len(together) == len(tokens)
    for got in together:
        if got is not None:
            listed = {r.slug for r in got[1] if r.kind == "direct"}
            assert listed == {s for s, who in directs.items() if got[0].user.username in who}
    for token, got in zip(tokens, together, strict=True):
        alone = await _alone(database, token, now, meetings)
        assert got == alone, token
        if token.startswith("live-"):
            assert got is not None and got[0].user.username == token.removeprefix("live-")
            assert got[1], token
        else:
            assert got is None, token


async def test_upgrades_of_the_same_moment_share_a_read(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgrades that arrive together are read together (one `read_arrivals` for the whole
    turn of the loop), and each gets its own answer; a revoked session among them is
    refused."""
    await _history(database)
    await _sessions(database)
    calls: list[int] = []
    read_arrivals = handshake.read_arrivals

    def counted(conn: Connection, tokens: list[str], *args: object) -> object:
        calls.append(len(tokens))
        return read_arrivals(conn, tokens, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(handshake, "read_arrivals", counted)
    meetings = database.part(handshake.MeetingsRead)
    tokens = [*(f"live-{n}" for n in USERS), "gone", "live-ann"]
    got = await asyncio.gather(*(handshake.arrival(database, t, meetings) for t in tokens))
    assert calls == [len(tokens)]
    for token, arrived in zip(tokens, got, strict=True):
        if token == "gone":
            assert arrived is None
            continue
        assert arrived is not None and arrived[0].user.username == token.removeprefix("live-")
        alone = await _alone(database, token, utcnow(), meetings)
        assert alone is not None and arrived[1] == alone[1], token


async def test_an_upgrade_asking_during_a_read_waits_for_the_next(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session revoked while a shared read is under way is refused to an upgrade that
    asks after the revocation: its read is the next one, begun after it asked."""
    await _sessions(database)
    started, release = asyncio.Event(), asyncio.Event()
    run = handshake.run

    async def slow(db: Database, fn: Any, *args: Any) -> Any:
        found = await run(db, fn, *args)
        started.set()
        await release.wait()
        return found

    monkeypatch.setattr(handshake, "run", slow)
    meetings = database.part(handshake.MeetingsRead)
    first = asyncio.create_task(handshake.arrival(database, "live-ann", meetings))
    await asyncio.wait_for(started.wait(), 5)
    async with database.write() as s:
        await accounts.revoke_session(s, "live-bob")
    second = asyncio.create_task(handshake.arrival(database, "live-bob", meetings))
    await asyncio.sleep(0.05)
    release.set()
    assert (await asyncio.wait_for(first, 5)) is not None
    assert (await asyncio.wait_for(second, 5)) is None

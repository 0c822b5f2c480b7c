"""Web Push end to end: a message on /ws or a mark over HTTP, then the loopback push
service checks the VAPID token and decrypts what arrived, as a browser would."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.pool import Pool

from chat.client import Client
from chat.notify import Notice
from persistence.db import Database
from persistence.models import PushSubscription, User
from tests.clients import Api, OpenClient
from tests.helpers import make_settings, running_server
from tests.notify.conftest import subscribed
from tests.notify.pushservice import Browser, PushService, push_service
from web.notify import Notifications
from web.pushhttp import NotPublic, PublicResolver, local_name, public_address, push_session
from web.settings import Settings


async def pushed_after(
    amy: Client, pushes: PushService, browser: Browser, silent: str, loud: str
) -> list[str]:
    """Amy mentions ann in `silent`, then in `loud`: the bodies pushed once the second came.

    One worker handles notices in order: the second arriving means the first was judged.
    """
    for room in (silent, loud):
        await amy.send(room, f"@ann in {room}")
    return [p["body"] for p in await pushes.wait(browser)]


async def test_mention_is_pushed_encrypted_and_signed(
    api: Api, server: str, pushes: PushService, open_client: OpenClient
) -> None:
    """A mention reaches the mentioned member's browser as {"title","body","url"}; the
    author's own browser gets nothing."""
    ann = await subscribed(api, pushes, "ann")
    amy_browser = await subscribed(api, pushes, "amy")
    amy = await open_client(server, "amy")
    ack = await amy.send("area-a", "@ann kun jij hier naar kijken?")
    got = await pushes.wait(ann)
    assert got == [
        {
            "title": "Amy Arends noemde je in Gebied A",
            "body": "@ann kun jij hier naar kijken?",
            "url": f"/kamer/area-a?seq={ack['seq']}",
        }
    ]
    assert amy_browser.got == [] and pushes.refused == []


async def test_reply_and_actiepunt_are_pushed(
    api: Api, server: str, pushes: PushService, open_client: OpenClient
) -> None:
    """A reply to the member's message, and an actiepunt given to them, each push once."""
    ann = await subscribed(api, pushes, "ann")
    ann_ws = await open_client(server, "ann")
    amy = await open_client(server, "amy")
    mine = await ann_ws.send("area-a", "Wie weet hoe dit zit?")
    await amy.send("area-a", "Ik zoek het uit.", reply_to=mine["message_id"])
    assert (await pushes.wait(ann))[0]["title"] == "Amy Arends reageerde op je bericht in Gebied A"
    task = await amy.send("area-a", "Zoek de vergunning op")
    r = await api.post(
        "rita",
        f"/api/rooms/area-a/messages/{task['message_id']}/mark",
        {"kind": "actiepunt", "owner": "ann"},
    )
    assert r.status_code == 200, r.text
    got = await pushes.wait(ann, 2)
    assert got[1] == {
        "title": "Actiepunt voor jou in Gebied A",
        "body": "Zoek de vergunning op",
        "url": f"/kamer/area-a?seq={task['seq']}",
    }


async def test_room_set_to_none_gets_no_push(
    api: Api, server: str, pushes: PushService, open_client: OpenClient
) -> None:
    """`none` silences the room, mentions included; another room still pushes."""
    ann = await subscribed(api, pushes, "ann")
    r = await api.call("ann", "PUT", "/api/rooms/theme-one/notifications", {"level": "none"})
    assert r.status_code == 200
    amy = await open_client(server, "amy")
    assert await pushed_after(amy, pushes, ann, "theme-one", "area-a") == ["@ann in area-a"]


async def test_level_all_pushes_every_message_at_most_once_a_minute(
    api: Api, server: str, pushes: PushService, open_client: OpenClient
) -> None:
    """`all` adds the room's messages, paced per room; a mention still comes through."""
    ann = await subscribed(api, pushes, "ann")
    await api.call("ann", "PUT", "/api/rooms/theme-one/notifications", {"level": "all"})
    amy = await open_client(server, "amy")
    await amy.send("theme-one", "Goedemorgen allemaal")
    await amy.send("theme-one", "Nog een bericht")
    await amy.send("theme-one", "En @ann, jij?")
    got = await pushes.wait(ann, 2)
    assert [(p["title"], p["body"]) for p in got] == [
        ("Amy Arends in Thema één", "Goedemorgen allemaal"),
        ("Amy Arends noemde je in Thema één", "En @ann, jij?"),
    ]


async def test_lost_access_gets_no_push(
    api: Api, server: str, pushes: PushService, open_client: OpenClient
) -> None:
    """A member banned from a room hears nothing of it, not even a mention."""
    ann = await subscribed(api, pushes, "ann")
    await api.call("ann", "PUT", "/api/rooms/area-a/notifications", {"level": "all"})
    r = await api.post("rita", "/api/rooms/area-a/bans", {"username": "ann", "reason": "test"})
    assert r.status_code == 201, r.text
    amy = await open_client(server, "amy")
    assert await pushed_after(amy, pushes, ann, "area-a", "theme-one") == ["@ann in theme-one"]


async def test_gone_endpoint_is_dropped(
    api: Api, server: str, pushes: PushService, open_client: OpenClient, database: Database
) -> None:
    """A push service answering 410 (or 404) removes the subscription."""
    ann = await subscribed(api, pushes, "ann")
    ann.answer = 410
    bob = await subscribed(api, pushes, "bob")
    amy = await open_client(server, "amy")
    await amy.send("theme-one", "@ann ben je er nog?")
    await amy.send("theme-one", "@bob en jij?")
    await pushes.wait(bob)
    async with database.read() as s:
        rows = (await s.execute(select(PushSubscription.endpoint))).scalars().all()
    assert rows == [bob.endpoint]


async def test_entry_point_for_other_features(
    api: Api, settings: Settings, database: Database, pushes: PushService
) -> None:
    """`Notifications.notify(Notice(...))` (meeting changes, reports) pushes per room level,
    signed with the same key as the serving process (kept in the database)."""
    ann = await subscribed(api, pushes, "ann")
    amy = await subscribed(api, pushes, "amy")
    await api.call("amy", "PUT", "/api/rooms/meeting-one/notifications", {"level": "none"})
    async with database.read() as s:
        ids = {name: uid for name, uid in await s.execute(select(User.username, User.id))}
        assert (await s.execute(select(func.count()).select_from(PushSubscription))).scalar() == 2
    notifications = Notifications(settings, database)
    await notifications.start()
    try:
        notifications.notify(
            Notice(
                (ids["ann"], ids["amy"]),
                "meeting",
                "Bijeenkomst één is verplaatst",
                "Nieuwe datum: 3 maart",
                "/kamer/meeting-one",
                "meeting-one",
            )
        )
        await notifications.drain()
    finally:
        await notifications.stop()
    assert ann.got == [
        {
            "title": "Bijeenkomst één is verplaatst",
            "body": "Nieuwe datum: 3 maart",
            "url": "/kamer/meeting-one",
        }
    ]
    assert amy.got == []


async def test_redirect_is_not_followed(
    api: Api, server: str, pushes: PushService, open_client: OpenClient, database: Database
) -> None:
    """A push service answering with a redirect is not followed (it could point inwards)."""
    ann = await subscribed(api, pushes, "ann")
    bob = await subscribed(api, pushes, "bob")
    ann.redirect = bob.endpoint
    amy = await open_client(server, "amy")
    await amy.send("theme-one", "@ann omgeleid?")
    await amy.send("theme-one", "@bob direct")
    assert [p["body"] for p in await pushes.wait(bob)] == ["@bob direct"]
    assert ann.got == [] and pushes.refused == ["redirected ann"]
    async with database.read() as s:
        assert len((await s.execute(select(PushSubscription))).scalars().all()) == 2


async def test_push_client_refuses_internal_addresses() -> None:
    """Names resolving inwards and internal literals are refused when connecting."""
    assert public_address("8.8.8.8") and not public_address("10.1.2.3")
    assert not public_address("127.0.0.1") and public_address("127.0.0.1", allow_loopback=True)
    assert not public_address("fe80::1") and local_name("printer.local")
    with pytest.raises(NotPublic):
        await PublicResolver(allow_loopback=False).resolve("localhost", 443)
    async with push_session(allow_loopback=False) as http:
        for url in ("http://10.0.0.1/x", "https://localhost/x", "http://[::1]:9/x"):
            with pytest.raises(NotPublic):
                await http.post(url, data=b"")


async def test_two_processes_push_each_event_once(
    db_url: str, redis_url: str, redis_prefix: str, open_client: OpenClient
) -> None:
    """Two servers on one database and Redis: the same key, and each mention pushed once,
    by the process that committed it."""
    settings = make_settings(
        db_url, push_allow_loopback=True, redis_url=redis_url, redis_prefix=redis_prefix
    )
    async with (
        running_server(settings) as one,
        running_server(settings) as two,
        push_service() as pushes,
        httpx.AsyncClient(timeout=10) as http,
    ):
        keys = {
            (await Api(http, base).get("ann", "/api/push/key")).json()["key"] for base in (one, two)
        }
        assert len(keys) == 1
        pushes.server_key = keys.pop()
        ann = await subscribed(Api(http, one), pushes, "ann")
        amy_one, amy_two = await open_client(one, "amy"), await open_client(two, "amy")
        await open_client(two, "ann")
        for n in range(3):
            await amy_one.send("theme-one", f"@ann een {n}")
            await amy_two.send("theme-one", f"@ann twee {n}")
        # Each process pushes in order: its last arriving means all its earlier ones did.
        got = await pushes.wait(ann, 6)
        await amy_one.send("theme-one", "@ann laatste een")
        await amy_two.send("theme-one", "@ann laatste twee")
        got = await pushes.wait(ann, 8)
    bodies = sorted(p["body"] for p in got)
    assert len(bodies) == 8 and len(set(bodies)) == 8


async def test_no_push_is_posted_inside_a_transaction(
    api: Api, server: str, pushes: PushService, open_client: OpenClient
) -> None:
    """While a push is posted, the notifier's task holds no database connection."""
    held: dict[asyncio.Task[Any] | None, int] = {}

    def task() -> asyncio.Task[Any] | None:
        try:
            return asyncio.current_task()
        except RuntimeError:  # SQLite's writer thread: no task of the notifier
            return None

    def checkout(*_: Any) -> None:
        held[task()] = held.get(task(), 0) + 1

    def checkin(*_: Any) -> None:
        held[task()] = held.get(task(), 0) - 1

    seen: list[int] = []
    workers: list[asyncio.Task[Any]] = []

    def during() -> None:
        workers.append(next(t for t in asyncio.all_tasks() if t.get_name() == "notify"))
        seen.append(held.get(workers[-1], 0))

    ann = await subscribed(api, pushes, "ann")
    amy = await open_client(server, "amy")
    event.listen(Pool, "checkout", checkout)
    event.listen(Pool, "checkin", checkin)
    pushes.during = during
    try:
        await amy.send("theme-one", "@ann buiten de transactie")
        await pushes.wait(ann)
    finally:
        event.remove(Pool, "checkout", checkout)
        event.remove(Pool, "checkin", checkin)
    # The worker did use the database (it read who to tell), just not around the push.
    assert seen == [0] and workers[0] in held


async def test_an_edit_that_adds_a_mention_pushes_it(
    api: Api, server: str, pushes: PushService, open_client: OpenClient
) -> None:
    """Naming someone in an edit tells them, once; a message with no @ tells nobody."""
    ann = await subscribed(api, pushes, "ann")
    amy = await open_client(server, "amy")
    ack = await amy.send("theme-one", "Wie pakt dit op?")
    await amy.edit("theme-one", ack["message_id"], "Wie pakt dit op? @ann misschien?")
    got = await pushes.wait(ann)
    assert [(p["title"], p["body"]) for p in got] == [
        ("Amy Arends noemde je in Thema één", "Wie pakt dit op? @ann misschien?")
    ]


async def test_room_wide_pushes_are_grouped_with_a_count(
    api: Api, settings: Settings, database: Database, pushes: PushService
) -> None:
    """Level `all`: one push per room in the window; the rest follow as one, counted."""
    ann = await subscribed(api, pushes, "ann")
    await api.call("ann", "PUT", "/api/rooms/theme-one/notifications", {"level": "all"})
    async with database.read() as s:
        ann_id = (await s.execute(select(User.id).where(User.username == "ann"))).scalar_one()
    paced = msgspec.structs.replace(settings, notify_room_push_seconds=1)
    notifications = Notifications(paced, database)
    await notifications.start()
    try:
        for n in (1, 2, 3):
            notifications.notify(
                Notice((ann_id,), "message", "Amy in Thema één", f"bericht {n}", "/", "theme-one")
            )
        got = await pushes.wait(ann, 2, timeout=20)
    finally:
        await notifications.stop()
    assert [(p["title"], p["body"]) for p in got] == [
        ("Amy in Thema één", "bericht 1"),
        ("Amy in Thema één (+1 meer)", "bericht 3"),
    ]

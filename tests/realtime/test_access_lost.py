"""Access lost means delivery stops (issue 21, finding 5): every path, one process and two.

Each path (HTTP ban, HTTP archive, CLI `members remove`, CLI `users disable`, `load` with a
changed role) must reach every running process and drop the affected subscription with
`removed` (a disabled account: its sockets close with 1008) within a couple of seconds,
after which nothing of that room reaches the connection, while another reader keeps
receiving. A CLI command without Redis reaches the servers through the database's access
version, polled every second.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from chat.client import Client, ClientError, Frame
from persistence import access_changes, handshake
from persistence.access_changes import AccessChange
from persistence.db import Database
from persistence.models import AccessChangeRow
from tests.clients import OpenClient
from tests.helpers import ROOT, WERKPLAATS, ServerProcess, bearer, login, password_of
from tests.realtime.conftest import StartServers

ROOM = "area-a"
# Seconds: the database poll runs every second; a CLI command adds no more than that.
WITHIN = 3.0
MO_DEMOTED = """\
[[user]]
username = "mo"
display_name = "Mo Moderator"
organisation = "Programmabureau"
layer = "rijk"
role = "member"
password = "password-mo-2026"
"""


# -- helpers -------------------------------------------------------------------------------


def cli_env(db_url: str, redis_url: str | None = None, prefix: str | None = None) -> dict[str, str]:
    """The environment of an operator's command: this test's database, Redis only if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WERKPLAATS_REDIS")}
    env.update({"WERKPLAATS_DATABASE_URL": db_url, "WERKPLAATS_LOG_LEVEL": "WARNING"})
    if redis_url is not None:
        env["WERKPLAATS_REDIS_URL"] = redis_url
        env["WERKPLAATS_REDIS_PREFIX"] = prefix or ""
    return env


async def werkplaats(env: dict[str, str], *args: str) -> str:
    """Run `werkplaats ARGS` as its own process, as an operator would; its stdout."""
    done = await asyncio.to_thread(
        subprocess.run,
        [WERKPLAATS, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def removed_from(client: Client, room: str) -> Frame | None:
    return next(
        (f for f in client.frames if f.get("type") == "removed" and f.get("room") == room), None
    )


def after_removed(client: Client, room: str) -> list[Frame]:
    """The frames of the room that reached the client after its `removed`."""
    removed = removed_from(client, room)
    assert removed is not None
    later = client.frames[client.frames.index(removed) + 1 :]
    return [f for f in later if f.get("room") == room]


async def room_goes_on(sender: Client, keeper: Client, text: str) -> None:
    """The sender posts and types in the room; the keeper receives both."""
    ack = await sender.send(ROOM, text)
    await keeper.wait_for(
        lambda f: f.get("type") == "message" and f.get("message_id") == ack["message_id"],
        timeout=10,
    )
    await sender.typing(ROOM)
    await keeper.wait_for(lambda f: f.get("type") == "typing" and f.get("room") == ROOM, 10)


async def cut_off(lost: list[Client], sender: Client, keeper: Client, reason: str) -> None:
    """Every lost client gets `removed` (with `reason`) in time, then nothing of the room,
    while the keeper goes on receiving what the sender posts."""
    for client in lost:
        removed = await client.wait_for(
            lambda f: f.get("type") == "removed" and f.get("room") == ROOM, timeout=WITHIN
        )
        assert removed["reason"] == reason
    await room_goes_on(sender, keeper, f"na {reason}")
    for client in lost:
        assert after_removed(client, ROOM) == []


async def closed_1008(client: Client) -> None:
    async with asyncio.timeout(WITHIN):
        while 1008 not in client.close_codes:
            await asyncio.sleep(0.02)


async def subscribed(*clients: Client, room: str = ROOM) -> None:
    for client in clients:
        await client.subscribe(room, since=None)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def as_user(http: httpx.AsyncClient, base: str, username: str) -> dict[str, str]:
    headers = bearer(await login(http, base, username))
    http.cookies.clear()
    return headers


# -- one process: the in-process broker, a real uvicorn ------------------------------------


async def test_http_ban_removes_at_once(server: str, open_client: OpenClient) -> None:
    """A ban over HTTP: `removed` ("banned"), then nothing of the room; others go on."""
    amy, ann, rita = [await open_client(server, u) for u in ("amy", "ann", "rita")]
    await subscribed(amy, ann, rita)
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{server}/api/rooms/{ROOM}/bans",
            json={"username": "amy", "reason": "test"},
            headers=await as_user(http, server, "rita"),
        )
    assert r.status_code == 201, r.text
    await cut_off([amy], rita, ann, "banned")


async def test_http_archive_rechecks_and_keeps_readers(
    server: str, open_client: OpenClient
) -> None:
    """Archiving re-checks the room's subscribers: it is read-only for everyone, so they keep
    reading it (no `removed`) and posting is refused."""
    ann, rita = await open_client(server, "ann"), await open_client(server, "rita")
    await subscribed(ann, rita)
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.patch(
            f"{server}/api/rooms/{ROOM}",
            json={"archived": True},
            headers=await as_user(http, server, "rita"),
        )
    assert r.status_code == 200, r.text
    updated = await ann.wait_for(lambda f: f.get("type") == "room_updated", timeout=WITHIN)
    assert updated["archived"] is True
    # Past the re-check from the hub and from the database poll.
    await asyncio.sleep(WITHIN)
    assert removed_from(ann, ROOM) is None
    with pytest.raises(ClientError) as refused:
        await ann.send(ROOM, "nog iets?")
    assert refused.value.code == "room_locked"


async def test_cli_members_remove_reaches_the_server(
    server: str, db_url: str, open_client: OpenClient
) -> None:
    """`werkplaats members remove` (no Redis): the server sees it in the database."""
    amy, ann, rita = [await open_client(server, u) for u in ("amy", "ann", "rita")]
    await subscribed(amy, ann, rita)
    await werkplaats(cli_env(db_url), "members", "remove", ROOM, "amy")
    await cut_off([amy], rita, ann, "membership_ended")


async def test_cli_users_disable_closes_sockets_and_refuses_login(
    server: str, db_url: str, open_client: OpenClient, http: httpx.AsyncClient
) -> None:
    """`werkplaats users disable`: sockets close with 1008, HTTP 401, login 401; `enable`."""
    amy = await open_client(server, "amy", reconnect=False)
    ann, rita = await open_client(server, "ann"), await open_client(server, "rita")
    await subscribed(amy, ann, rita)
    await werkplaats(cli_env(db_url), "users", "disable", "amy", "--reason", "vertrokken")
    await closed_1008(amy)
    await room_goes_on(rita, ann, "zonder amy")
    assert (await http.get(f"{server}/api/me", headers=bearer(amy.token))).status_code == 401
    r = await http.post(
        f"{server}/api/session", json={"username": "amy", "password": password_of("amy")}
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_credentials"
    await werkplaats(cli_env(db_url), "users", "enable", "amy")
    await login(http, server, "amy")


async def test_load_with_a_lower_role_removes(
    server: str, db_url: str, open_client: OpenClient, tmp_path: Path
) -> None:
    """`werkplaats load` demoting a moderator: `removed` from the area room they only read
    as a moderator."""
    mo, ann, rita = [await open_client(server, u) for u in ("mo", "ann", "rita")]
    await subscribed(mo, ann, rita)
    community = tmp_path / "mo.toml"
    community.write_text(MO_DEMOTED, encoding="utf-8")
    await werkplaats(cli_env(db_url), "load", str(community))
    await cut_off([mo], rita, ann, "role_changed")


# -- two processes: `werkplaats serve` twice, sharing the database and Redis ---------------


async def clients_on(
    open_client: OpenClient,
    servers: list[ServerProcess],
    username: str,
    room: str = ROOM,
    **options: Any,
) -> list[Client]:
    """One connection of the user on each server, subscribed to the room."""
    found = [await open_client(s.url, username, **options) for s in servers]
    await subscribed(*found, room=room)
    return found


@pytest.mark.soak  # a long form: make soak-tests
@pytest.mark.slow
@pytest.mark.redis
async def test_every_path_reaches_both_processes_through_redis(
    start_servers: StartServers,
    open_client: OpenClient,
    db_url: str,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    """Ban over HTTP on A, and `members remove`, `load` and `users disable` run with Redis:
    the user's connections on both processes are cut off; the others go on.

    (One test, because two server processes cost seconds to start.)
    """
    a, b = await start_servers(2)
    servers = [a, b]
    rita = (await clients_on(open_client, [a], "rita"))[0]
    ada = (await clients_on(open_client, [b], "ada"))[0]
    env = cli_env(db_url, redis_url, redis_prefix)

    amy = await clients_on(open_client, servers, "amy")
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{a.url}/api/rooms/{ROOM}/bans",
            json={"username": "amy", "reason": "test"},
            headers=await as_user(http, a.url, "rita"),
        )
    assert r.status_code == 201, r.text
    await cut_off(amy, rita, ada, "banned")

    ann = await clients_on(open_client, servers, "ann")
    await werkplaats(env, "members", "remove", ROOM, "ann")
    await cut_off(ann, rita, ada, "membership_ended")

    mo = await clients_on(open_client, servers, "mo")
    community = tmp_path / "mo.toml"
    community.write_text(MO_DEMOTED, encoding="utf-8")
    await werkplaats(env, "load", str(community))
    await cut_off(mo, rita, ada, "role_changed")

    bob = await clients_on(open_client, servers, "bob", "theme-one", reconnect=False)
    await werkplaats(env, "users", "disable", "bob")
    for client in bob:
        await closed_1008(client)
    await room_goes_on(rita, ada, "zonder bob")


@pytest.mark.soak  # a long form: make soak-tests
@pytest.mark.slow
@pytest.mark.redis
async def test_cli_without_redis_reaches_both_processes_through_the_database(
    start_servers: StartServers,
    open_client: OpenClient,
    db_url: str,
    tmp_path: Path,
) -> None:
    """Commands run without Redis (servers with it): the polled access version carries
    `members remove`, `load` and `users disable` to both processes."""
    a, b = await start_servers(2)
    servers = [a, b]
    rita = (await clients_on(open_client, [a], "rita"))[0]
    ada = (await clients_on(open_client, [b], "ada"))[0]
    env = cli_env(db_url)

    amy = await clients_on(open_client, servers, "amy")
    await werkplaats(env, "members", "remove", ROOM, "amy")
    await cut_off(amy, rita, ada, "membership_ended")

    mo = await clients_on(open_client, servers, "mo")
    community = tmp_path / "mo.toml"
    community.write_text(MO_DEMOTED, encoding="utf-8")
    await werkplaats(env, "load", str(community))
    await cut_off(mo, rita, ada, "role_changed")

    ann = await clients_on(open_client, servers, "ann", reconnect=False)
    await werkplaats(env, "users", "disable", "ann")
    for client in ann:
        await closed_1008(client)
    await room_goes_on(rita, ada, "zonder ann")


# -- the access log itself -----------------------------------------------------------------


async def test_access_log_reads_changes_in_order_and_notices_pruning(database: Database) -> None:
    """Versions count up with their changes; a reader behind the pruned log is told so."""
    async with database.write() as session:
        first = await access_changes.record(session, [AccessChange(7, reason="banned")])
    async with database.write() as session:
        second = await access_changes.record(
            session, [AccessChange(room=ROOM, reason="archived"), AccessChange(8)]
        )
    assert first is not None and second == first + 1
    assert await handshake.run(database, access_changes.read_version) == second
    found = await handshake.run(database, access_changes.changes_between, first - 1, second)
    assert found.complete
    assert found.changes == [
        AccessChange(7, reason="banned"),
        AccessChange(room=ROOM, reason="archived"),
        AccessChange(8),
    ]
    async with database.write() as session:
        await session.execute(delete(AccessChangeRow).where(AccessChangeRow.version == first))
    pruned = await handshake.run(database, access_changes.changes_between, first - 1, second)
    assert not pruned.complete

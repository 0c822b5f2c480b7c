"""`werkplaats backup` and `restore`: a backup taken while messages flow, restored into a fresh
database, serves the same history, and new sends continue its seqs; bad input is refused."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from chat.client import Client
from persistence.backup import SEQ_MARGIN
from tests.helpers import (
    PG_ADMIN_DSN,
    PG_HOST,
    WERKPLAATS,
    ServerProcess,
    bearer,
    login,
    postgres_up,
    require,
)
from web.cli import main

ROOM = "theme-one"
SECRET = "a-test-secret-key-for-backups"
CLI_TIMEOUT = 120


@pytest.fixture
async def fresh_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the test's backend: a new SQLite file, a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
        return
    require("PostgreSQL", postgres_up(), "127.0.0.1:5432")
    name = f"wp_restore_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def server_env(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "WERKPLAATS_DATABASE_URL": url,
        "WERKPLAATS_SECRET_KEY": SECRET,
        "WERKPLAATS_TEST_LOG_DIR": str(tmp_path),
        "WERKPLAATS_LOG_LEVEL": "WARNING",
        # The flow below sends as fast as acks come back: no rate limit in the way.
        "WERKPLAATS_SEND_BURST": "100000",
        "WERKPLAATS_SEND_RATE": "100000",
        "WERKPLAATS_FRAME_BURST": "100000",
        "WERKPLAATS_FRAME_RATE": "100000",
    }


async def werkplaats(url: str, *args: str) -> tuple[int, str]:
    """Run the CLI as its own process on the database; its exit status and stderr."""
    env = {**os.environ, "WERKPLAATS_DATABASE_URL": url, "WERKPLAATS_SECRET_KEY": SECRET}
    proc = await asyncio.create_subprocess_exec(
        WERKPLAATS,
        *args,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> tuple[int, str]:
    """The CLI's `main` in this process (where no second process matters): status, stderr."""
    monkeypatch.setenv("WERKPLAATS_DATABASE_URL", url)
    monkeypatch.setenv("WERKPLAATS_SECRET_KEY", SECRET)
    capsys.readouterr()
    code = await asyncio.wait_for(asyncio.to_thread(main, list(args)), CLI_TIMEOUT)
    return code, capsys.readouterr().err


async def started(env: dict[str, str]) -> ServerProcess:
    server = ServerProcess(env)
    server.start()
    await asyncio.to_thread(server.wait_ready, 60)
    return server


async def history(base: str) -> list[dict[str, Any]]:
    """Every event of the room, in seq order, as a member reads it over HTTP (page by page)."""
    events: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=10) as http:
        token = await login(http, base, "ann")
        while True:
            r = await http.get(
                f"{base}/api/rooms/{ROOM}/events",
                params={"after": events[-1]["seq"] if events else 0, "limit": 1000},
                headers=bearer(token),
            )
            assert r.status_code == 200, r.text
            events += r.json()["events"]
            if not r.json()["has_more"]:
                return events


class Flow:
    """One member sending message after message, keeping every ack."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.acks: list[dict[str, Any]] = []
        self.bodies: dict[int, str] = {}
        self.stop = asyncio.Event()

    async def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            body = f"bericht {n} {uuid.uuid4().hex[:6]}"
            ack = await self.client.send(ROOM, body, timeout=30)
            self.acks.append(ack)
            self.bodies[ack["seq"]] = body
            # Leave the shared cores some room; the flow still runs through the whole backup.
            await asyncio.sleep(0.02)

    async def until(self, count: int) -> None:
        async with asyncio.timeout(60):
            while len(self.acks) < count:
                await asyncio.sleep(0.01)


@pytest.mark.soak  # a long form: make soak-tests
async def test_backup_while_messages_flow_restores_history_and_continues_seqs(
    db_url: str, fresh_url: str, tmp_path: Path
) -> None:
    """Every message acked before the backup began is served after restore; new seqs follow on."""
    original = await started(server_env(db_url, tmp_path))
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            token = await login(http, original.url, "ann")
        client = Client(original.url, token)
        await client.connect()
        flow = Flow(client)
        sending = asyncio.create_task(flow.run())
        try:
            await flow.until(20)
            acked_before = max(a["seq"] for a in flow.acks)
            code, err = await werkplaats(db_url, "backup", str(tmp_path / "werkplaats.backup"))
            assert code == 0, err
            await flow.until(len(flow.acks) + 20)
        finally:
            flow.stop.set()
            async with asyncio.timeout(30):
                await sending
            await client.close()
        sent_history = await history(original.url)
    finally:
        await asyncio.to_thread(original.stop)

    code, err = await werkplaats(fresh_url, "restore", str(tmp_path / "werkplaats.backup"))
    assert code == 0, err
    restored = await started(server_env(fresh_url, tmp_path))
    try:
        events = await history(restored.url)
        # The restore moved the room's seq on (`--seq-margin`): a `restored` event at the end.
        marker = events.pop()
        assert marker["type"] == "restored" and marker["seq"] == marker["after"] + SEQ_MARGIN
        seqs = [e["seq"] for e in events]
        last = seqs[-1]
        # A consistent snapshot: a gap-free prefix of the room that holds every earlier ack.
        assert seqs == list(range(1, last + 1)) and acked_before <= last < sent_history[-1]["seq"]
        assert events == sent_history[:last]
        assert all(e["body"] == flow.bodies[e["seq"]] for e in events if e["seq"] in flow.bodies)
        async with httpx.AsyncClient(timeout=10) as http:
            token = await login(http, restored.url, "ann")
        async with Client(restored.url, token) as again:
            first = await again.send(ROOM, "na het terugzetten", timeout=30)
            second = await again.send(ROOM, "en nog een", timeout=30)
        assert marker["after"] == last
        assert (first["seq"], second["seq"]) == (marker["seq"] + 1, marker["seq"] + 2)
        after = await history(restored.url)
        moved_on = [marker["seq"], marker["seq"] + 1, marker["seq"] + 2]
        assert [e["seq"] for e in after] == list(range(1, last + 1)) + moved_on
        assert after[:last] == events
    finally:
        await asyncio.to_thread(restored.stop)


@pytest.mark.parametrize("case", ["missing", "not a backup", "other backend"])
async def test_restore_refuses_a_file_it_cannot_use(
    case: str,
    backend: str,
    fresh_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A missing file, a file of no backup format, or one of the other database: exit 2, named."""
    file = tmp_path / "input.backup"
    other = b"PGDMP\x01\x0e\x00" if backend == "sqlite" else b"SQLite format 3\x00"
    if case == "not a backup":
        file.write_text("hallo\n")
    elif case == "other backend":
        file.write_bytes(other + bytes(200))
    code, err = await in_process(monkeypatch, capsys, fresh_url, "restore", str(file))
    assert code == 2 and f"werkplaats: {file}: " in err
    why = {
        "missing": "no such file",
        "not a backup": "not a backup",
        "other backend": "restores only into",
    }
    assert why[case] in err


async def test_restore_refuses_a_database_holding_data_unless_forced(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database with users, rooms or messages is not overwritten; with --force it is."""
    file = tmp_path / "werkplaats.backup"
    assert (await in_process(monkeypatch, capsys, db_url, "backup", str(file)))[0] == 0
    code, err = await in_process(monkeypatch, capsys, db_url, "restore", str(file))
    assert code == 2 and f"{file}: not restored" in err and "holds data" in err
    code, err = await in_process(monkeypatch, capsys, db_url, "restore", "--force", str(file))
    assert code == 0, err


async def test_backup_to_an_unwritable_place_names_the_file(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup that cannot be written: exit 2 naming the file, and no partial file left."""
    folder = tmp_path / "nowhere"
    file = folder / "werkplaats.backup"
    code, err = await in_process(monkeypatch, capsys, db_url, "backup", str(file))
    assert code == 2 and str(file) in err
    assert not folder.exists()


@pytest.mark.parametrize("margin", ["-5", "many", "2000000000"])
def test_restore_refuses_a_bad_seq_margin(margin: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["restore", "werkplaats.backup", "--seq-margin", margin])
    assert exited.value.code == 2
    assert "--seq-margin" in capsys.readouterr().err

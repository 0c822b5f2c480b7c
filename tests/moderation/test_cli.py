"""The archive, privacy and membership subcommands of `werkplaats`: output and exit status 2."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from persistence.db import Database
from tests.helpers import SQLITE_ONLY, WERKPLAATS
from tests.moderation.conftest import audit_rows, post
from web.cli import main


async def run(db_url: str, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """`werkplaats ARGV` in a thread of its own (it runs its own event loop)."""
    monkeypatch.setenv("WERKPLAATS_DATABASE_URL", db_url)
    monkeypatch.setenv("WERKPLAATS_LOG_LEVEL", "WARNING")
    return await asyncio.to_thread(main, list(argv))


async def test_export_commands_write_files(
    db_url: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """export-room and export-user write complete files; the CLI operator is audited."""
    await post(database, "area-a", "ann", "hallo")
    room_file, user_file = tmp_path / "room.json", tmp_path / "ann.json"
    assert (
        await run(
            db_url,
            monkeypatch,
            "export-room",
            "area-a",
            "--format",
            "json",
            "--output",
            str(room_file),
            "--reason",
            "Woo-verzoek 7",
        )
        == 0
    )
    assert json.loads(room_file.read_text())["events"][0]["body"] == "hallo"
    assert await run(db_url, monkeypatch, "export-user", "ann", "--output", str(user_file)) == 0
    assert json.loads(user_file.read_text())["messages"][0]["body"] == "hallo"
    assert await run(db_url, monkeypatch, "export-room", "area-a") == 0
    assert "> hallo" in capsys.readouterr().out
    entries = await audit_rows(database)
    assert [e.action for e in entries] == ["export_room", "export_user", "export_room"]
    assert entries[0].actor.startswith("cli:") and entries[0].reason == "Woo-verzoek 7"


async def test_members_command(
    db_url: str, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """members add/remove changes the team and writes the audit log."""
    assert await run(db_url, monkeypatch, "members", "add", "area-a", "bob") == 0
    assert await run(db_url, monkeypatch, "members", "remove", "area-a", "bob") == 0
    assert [e.action for e in await audit_rows(database)] == ["add_member", "remove_member"]


async def test_pseudonymise_and_purge_commands(
    db_url: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """pseudonymise prints the new name; purge prints what it blanked."""
    assert await run(db_url, monkeypatch, "pseudonymise", "amy") == 0
    assert "amy is now verwijderd-" in capsys.readouterr().out
    assert await run(db_url, monkeypatch, "purge", "--older-than", "365") == 0
    assert "0 messages older than 365 days blanked" in capsys.readouterr().out


BAD = [
    (("export-room", "no-room"), "no room 'no-room'"),
    (("export-room", "area-a", "--output", "/no/such/dir/x.md"), "--output /no/such/dir/x.md"),
    (("export-user", "nobody"), "no user 'nobody'"),
    (("pseudonymise", "nobody"), "no user 'nobody'"),
    (("purge", "--older-than", "0"), "--older-than must be at least 1 day"),
    (("members", "add", "theme-one", "ann"), "area rooms only"),
    (("members", "add", "area-a", "ann"), "already a member"),
    (("members", "remove", "area-a", "bob"), "not a member"),
    (("members", "add", "area-a", "nobody"), "no user 'nobody'"),
    (("export-room", "area-a", "--format", "pdf"), "invalid choice: 'pdf'"),
    (("purge",), "--older-than"),
]


@SQLITE_ONLY
async def test_bad_input_exits_2_naming_the_problem(
    db_url: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each bad invocation exits with status 2 and a message naming what is wrong."""
    for argv, message in BAD:
        try:
            status = await run(db_url, monkeypatch, *argv)
        except SystemExit as exc:  # argparse's own refusals
            status = int(exc.code or 0)
        assert status == 2, argv
        assert message in capsys.readouterr().err, argv
    assert await audit_rows(database) == []


@SQLITE_ONLY
def test_console_command_exits_2(db_url: str, tmp_path: Path) -> None:
    """The installed `werkplaats` command: an unknown room is exit status 2 on stderr."""
    done = subprocess.run(
        [WERKPLAATS, "export-room", "no-room"],
        env={"WERKPLAATS_DATABASE_URL": db_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert "werkplaats: no room 'no-room'" in done.stderr

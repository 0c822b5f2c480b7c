"""The archive, privacy and membership subcommands of `werkplaats`: output and exit status 2."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from chat import store
from persistence import events
from persistence.accounts import actor_for, create_session, user_by_name
from persistence.db import Database
from persistence.models import (
    Ban,
    DigestSent,
    Event,
    Meeting,
    MemberPreference,
    Message,
    MessageRevision,
    Mute,
    Reaction,
    ReadMarker,
    Report,
    RoomModerator,
    StoredFile,
    iso,
)
from persistence.rooms import room_by_slug
from tests.helpers import SQLITE_ONLY, WERKPLAATS
from tests.moderation.conftest import audit_rows, post
from tests.persistence import posting
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


# Every kind of row a user export lists, with fixed times (the seeded rows' and the audit's
# times, and `exported_at`, differ per run and are masked).
FIXED = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
PINNED = Path(__file__).parent / "user-export.json"
MOMENT = re.compile(r'"(\d{4}-\d\d-\d\dT[0-9:.]+Z)"')


async def rich_user(database: Database) -> None:
    """ann with a row in every list of her export."""
    first = await post(database, "area-a", "ann", "eerste versie")
    await post(database, "area-a", "amy", "niet van ann")
    async with database.write() as session:
        ann, rita = await user_by_name(session, "ann"), await user_by_name(session, "rita")
        area_a, area_b = (
            await room_by_slug(session, "area-a"),
            await room_by_slug(session, "area-b"),
        )
        assert ann and rita and area_a and area_b
        message = await session.get(Message, first)
        assert message is not None
        message.body, message.edited_at = "tweede versie", FIXED
        meeting = (await session.execute(select(Meeting))).scalars().first()
        assert meeting is not None
        session.add_all(
            [
                MessageRevision(message_id=first, body="eerste versie", replaced_at=FIXED),
                RoomModerator(room_id=area_b.id, user_id=ann.id),
                MemberPreference(user_id=ann.id, digest=False, email="ann@a.example"),
                DigestSent(meeting_id=meeting.id, user_id=ann.id, sent_at=FIXED),
                ReadMarker(user_id=ann.id, room_id=area_a.id, seq=2, updated_at=FIXED),
                Reaction(message_id=first, user_id=ann.id, emoji="👍", room_id=area_a.id, at=FIXED),
                Report(
                    room_id=area_a.id, message_id=first, reporter_id=ann.id, reason="x", at=FIXED
                ),
                Ban(room_id=area_b.id, user_id=ann.id, reason="even niet", created_at=FIXED),
                Mute(
                    room_id=area_a.id, user_id=ann.id, until=FIXED, reason="rust", created_at=FIXED
                ),
                StoredFile(
                    room_id=area_a.id,
                    uploader_id=ann.id,
                    message_id=first,
                    name="plan.pdf",
                    kind="document",
                    media_type="application/pdf",
                    size=1234,
                    sha256="a" * 64,
                    created_at=FIXED,
                ),
            ]
        )
        await create_session(session, ann.id, "h" * 64, FIXED)


@SQLITE_ONLY
async def test_export_user_json_is_pinned(
    db_url: str, database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The user export's JSON, byte for byte (tests/moderation/user-export.json): its keys,
    their order, the indentation and how each value is written."""
    await rich_user(database)
    monkeypatch.setenv("LOGNAME", "beheer")  # the audit entry's actor: cli:beheer
    out = tmp_path / "ann.json"
    assert await run(db_url, monkeypatch, "export-user", "ann", "--output", str(out)) == 0
    fixed = iso(FIXED)
    text = MOMENT.sub(lambda m: m[0] if m[1] == fixed else '"<moment>"', out.read_text())
    assert text == PINNED.read_text(encoding="utf-8")


async def rich_room(database: Database) -> None:
    """area-a with every kind of thing its export writes: a reply, an edit with its earlier
    body, reactions, a hidden and a purged message, and moderators' events; at fixed times."""
    first = await post(database, "area-a", "ann", "eerste versie")
    async with database.read() as session:
        amy = await user_by_name(session, "amy")
        assert amy is not None
        actor = await actor_for(session, amy)
    await posting.post(database, "area-a", "amy", "Een *antwoord* met <b>", "r-2", reply_to=first)
    secret = await post(database, "area-a", "amy", "geheime tekst")
    gone = await post(database, "area-a", "ann", "oude tekst")
    await store.react(database, actor, "area-a", first, "👍", True)
    async with database.write() as session:
        ann, rita = await user_by_name(session, "ann"), await user_by_name(session, "rita")
        room = await room_by_slug(session, "area-a")
        message, hidden, purged = (
            await session.get(Message, first),
            await session.get(Message, secret),
            await session.get(Message, gone),
        )
        assert ann and rita and room and message and hidden and purged
        await events.edit_message(session, message, "tweede versie", ann.id)
        await events.hide_message(session, hidden, rita, "privé")
        purged.body, purged.purged_at = "", FIXED
        by = {"by": "rita"}
        for kind, data, message_id in (
            ("message_pinned", by, first),
            ("room_updated", {**by, "slow_mode_seconds": 30, "locked": False}, None),
            ("topic_renamed", {**by, "old": "stikstof", "new": "Stikstof"}, None),
        ):
            await events.append_event(
                session, room.id, kind, message_id=message_id, actor_id=rita.id, data=data
            )
        await session.execute(
            update(Event).where(Event.room_id == room.id).values(created_at=FIXED)
        )
        await session.execute(update(MessageRevision).values(replaced_at=FIXED))
        for column in (Message.created_at, Message.edited_at, Message.hidden_at):
            await session.execute(
                update(Message)
                .where(Message.room_id == room.id, column.is_not(None))
                .values({column: FIXED})
            )


@SQLITE_ONLY
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("fmt", ["json", "md"])
async def test_export_room_is_pinned(
    db_url: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fmt: str,
    hidden: bool,
) -> None:
    """The room export, JSON and Markdown, with and without hidden text, byte for byte
    (tests/moderation/room-export*): every line it writes and how each value is written."""
    await rich_room(database)
    out = tmp_path / f"kamer.{fmt}"
    flags = ["--include-hidden", "--reason", "Woo-verzoek 7"] if hidden else []
    argv = ["export-room", "area-a", "--format", fmt, "--output", str(out), *flags]
    assert await run(db_url, monkeypatch, *argv) == 0
    fixed = iso(FIXED)
    text = MOMENT.sub(lambda m: m[0] if m[1] == fixed else '"<moment>"', out.read_text())
    text = re.sub(r"(?m)^(- Geëxporteerd: ).*$", r"\1<moment>", text)
    pinned = PINNED.with_name(f"room-export{'-hidden' if hidden else ''}.{fmt}")
    assert text == pinned.read_text(encoding="utf-8")

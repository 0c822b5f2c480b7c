"""`werkplaats meeting add|list`: meetings made from the command line are first-class."""

from __future__ import annotations

import pytest

from rooms.dutchtime import format_dutch, from_local
from tests.clients import Api
from tests.helpers import after_meeting_one
from tests.meetings.test_digest import run_cli


async def test_meeting_add_and_list(
    api: Api, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The meeting, its room and its theme link exist; refusals exit 2 and write nothing."""
    env = {"WERKPLAATS_DATABASE_URL": db_url}
    when = after_meeting_one(64)
    day = when.isoformat()
    argv = ["meeting", "add", "--slug", "meeting-two", "--title", "Bijeenkomst twee"]
    argv += ["--theme", "theme-two", "--date", day, "--place", "Aldeboarn"]
    assert await run_cli(monkeypatch, env, *argv) == 0
    shown = format_dutch(from_local(when))
    assert f"meeting meeting-two on {shown} created" in capsys.readouterr().out
    r = await api.get("ann", "/api/meetings/meeting-two")
    assert r.status_code == 200
    assert r.json()["meeting"]["theme_room"] == "theme-two"
    assert r.json()["previous_meeting"]["slug"] == "meeting-one"
    assert (await api.get("ann", "/api/rooms/meeting-two/events")).status_code == 200
    assert await run_cli(monkeypatch, env, "meeting", "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[5] for line in out] == ["meeting-one", "meeting-two"]
    assert out[1].startswith(f"{shown}  meeting-two")

    assert await run_cli(monkeypatch, env, *argv) == 2
    assert "already used" in capsys.readouterr().err
    bad_theme = [*argv[:3], "meeting-x", *argv[4:6], "--theme", "nope", *argv[8:]]
    assert await run_cli(monkeypatch, env, *bad_theme) == 2
    assert "no theme 'nope'" in capsys.readouterr().err
    bad_date = [*argv[:3], "meeting-y", *argv[4:8], "--date", "morgen", *argv[10:]]
    assert await run_cli(monkeypatch, env, *bad_date) == 2
    assert (await api.get("ann", "/api/meetings/meeting-x")).status_code == 404

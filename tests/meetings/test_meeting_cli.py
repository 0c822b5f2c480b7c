"""`werkplaats meeting add|change|cancel|list`: meetings made and changed from the command
line are first-class."""

from __future__ import annotations

from datetime import time

import pytest

from rooms.dutchtime import format_dutch, from_local, parse_wire
from tests.clients import Api
from tests.helpers import SQLITE_ONLY, after_meeting_one
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


# The use-case is the HTTP API's (tested there on both databases); this is the command.
REGISTRATION = "/api/meetings/meeting-one/registration"


@SQLITE_ONLY
async def test_meeting_change_and_cancel(
    api: Api, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`change` moves the meeting and says so in its room; `cancel` cancels it; a refusal
    names the meeting, the option and why, exits 2 and writes nothing."""
    env = {"WERKPLAATS_DATABASE_URL": db_url}
    assert (await api.call("ann", "PUT", REGISTRATION, {"status": "going"})).status_code == 200
    when = after_meeting_one(1)
    argv = ["meeting", "change", "meeting-one", "--date", f"{when.isoformat()}T13:30"]
    argv += ["--place", "Tijnje", "--capacity", "12", "--reason", "zaal bezet"]
    assert await run_cli(monkeypatch, env, *argv) == 0
    shown = format_dutch(from_local(when, time(13, 30)))
    assert f"meeting meeting-one changed: {shown}, Tijnje" in capsys.readouterr().out
    meeting = (await api.get("ann", "/api/meetings/meeting-one")).json()["meeting"]
    assert (meeting["place"], meeting["capacity"]) == ("Tijnje", 12)
    assert parse_wire(meeting["date"]) == from_local(when, time(13, 30))
    events = await api.events("ann", "meeting-one")
    changed = [e for e in events if e["type"] == "meeting_changed"]
    assert changed[-1]["meeting"]["place"] == "Tijnje"
    assert changed[-1]["by"].startswith("cli:")
    # The same again changes nothing: no event, no new SEQUENCE.
    assert await run_cli(monkeypatch, env, *argv) == 0
    assert "unchanged" in capsys.readouterr().out

    refusals = [
        (["--date", "morgen"], "--date must be a date like"),
        (["--closes-at", f"{after_meeting_one(5).isoformat()}T10:00"], "--closes-at must not"),
        (["--ends-at", f"{when.isoformat()}T09:00"], "--ends-at must lie after"),
        (["--capacity", "veel"], "--capacity must be a whole number"),
        (["--capacity", "-1"], "--capacity must be between 0 and"),
        (["--title", "  "], "--title must not be empty"),
        ([], "nothing to change"),
    ]
    for options, why in refusals:
        assert await run_cli(monkeypatch, env, "meeting", "change", "meeting-one", *options) == 2
        err = capsys.readouterr().err
        assert err.startswith("werkplaats: meeting change meeting-one: ") and why in err, err
        assert "nothing was written" in err
    assert await run_cli(monkeypatch, env, "meeting", "cancel", "nope") == 2
    assert "meeting cancel nope: no meeting 'nope'" in capsys.readouterr().err

    assert await run_cli(monkeypatch, env, "meeting", "cancel", "meeting-one") == 0
    assert "cancelled" in capsys.readouterr().out
    after = (await api.get("ann", "/api/meetings/meeting-one")).json()["meeting"]
    assert after["status"] == "cancelled" and after["capacity"] == 12
    r = await api.call("ann", "PUT", REGISTRATION, {"status": "going"})
    assert r.status_code == 409

"""The `werkplaats` command as an operator runs it: real processes, exit codes, messages."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.helpers import COMMUNITY, ROOT, WERKPLAATS
from web.cli import main
from web.settings import SettingsError, load_settings


def run(args: list[str], db_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WERKPLAATS, *args],
        env={**os.environ, "WERKPLAATS_DATABASE_URL": db_url, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/cli.db"


def test_load_twice_changes_nothing_the_second_time(db_url: str) -> None:
    """`load` is idempotent: the second run reports that nothing changed."""
    first = run(["load", str(COMMUNITY)], db_url)
    assert first.returncode == 0, first.stderr
    assert "nothing changed" in first.stdout  # the fixture database was seeded from this file


def test_load_into_empty_database_creates_everything(empty_sqlite: str) -> None:
    """A fresh database gets migrated and filled by `load`."""
    r = run(["load", str(COMMUNITY)], empty_sqlite)
    assert r.returncode == 0, r.stderr
    assert "6 users created" in r.stdout and "2 areas created" in r.stdout


BAD_FILES = {
    "bad layer": (
        '[[user]]\nusername="zz"\ndisplay_name="Z"\npassword="long-enough-2026"\nlayer="eu"\n',
        "user[0] (zz): field 'layer'",
    ),
    "bad username": (
        '[[user]]\nusername="Zed!"\ndisplay_name="Z"\npassword="long-enough-2026"\n',
        "user[0] (Zed!): field 'username'",
    ),
    "unknown area": (
        '[[user]]\nusername="zz"\ndisplay_name="Z"\npassword="long-enough-2026"\nareas=["nope"]\n',
        "user[0] (zz): field 'areas': no area 'nope'",
    ),
    "missing name": ('[[area]]\nslug="x"\n', "area[0] (x)"),
    "unknown field": ('[[theme]]\nslug="t"\nname="T"\ncolour="red"\n', "colour"),
    "not toml": ("[[area]\nslug=", "not valid TOML"),
    # The rule of invitations and password changes (web.passwords.check_new_password).
    "short password": (
        '[[user]]\nusername="zz"\ndisplay_name="Z"\npassword="elf-tekens!"\n',
        "user[0] (zz): field 'password': a password has at least 12 characters",
    ),
    "common password": (
        '[[user]]\nusername="zz"\ndisplay_name="Z"\npassword="1qaz2wsx3edc"\n',
        "user[0] (zz): field 'password': this password is too common",
    ),
    "password with the username": (
        '[[user]]\nusername="zz"\ndisplay_name="Z"\npassword="long-enough-2026"\n'
        '[[user]]\nusername="wessel"\ndisplay_name="W"\npassword="wessel-werkt-hier"\n',
        "user[1] (wessel): field 'password': this password is too common or contains the username",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_invalid_file_names_file_entry_field_and_writes_nothing(
    case: str,
    empty_sqlite: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Invalid input: exit status 2, a message naming file, entry and field, nothing written."""
    text, expected = BAD_FILES[case]
    good = '[[area]]\nslug="first-area"\nname="Eerst"\n'
    path = tmp_path / "community.toml"
    path.write_text(good + text, encoding="utf-8")
    monkeypatch.setenv("WERKPLAATS_DATABASE_URL", empty_sqlite)
    assert main(["load", str(path)]) == 2
    stderr = capsys.readouterr().err
    assert str(path) in stderr
    assert expected in stderr.replace("area[1]", "area[0]")
    assert "nothing was written" in stderr
    # The valid area before the bad entry was not written either.
    with sqlite3.connect(empty_sqlite.split("///", 1)[1]) as conn:
        assert conn.execute("SELECT count(*) FROM areas").fetchone() == (0,)


def test_missing_file_is_exit_2(empty_sqlite: str, tmp_path: Path) -> None:
    r = run(["load", str(tmp_path / "nope.toml")], empty_sqlite)
    assert r.returncode == 2 and "nope.toml" in r.stderr


def test_demo_prints_logins_and_is_idempotent(empty_sqlite: str) -> None:
    """`demo` loads the Werkplaats' own community once and prints the demo logins."""
    first = run(["demo"], empty_sqlite)
    assert first.returncode == 0, first.stderr
    assert "anna" in first.stdout and "veenweide-2026" in first.stdout
    second = run(["demo"], empty_sqlite)
    assert "nothing changed; 0 demo messages added" in second.stdout


def test_serve_with_workers_needs_redis(empty_sqlite: str) -> None:
    """`serve --workers 2` without a Redis URL says clearly what is missing."""
    r = run(["serve", "--workers", "2"], empty_sqlite, WERKPLAATS_REDIS_URL="")
    assert r.returncode == 2
    assert "WERKPLAATS_REDIS_URL" in r.stderr


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("WERKPLAATS_DATABASE_URL", "mysql://x"),
        ("WERKPLAATS_ALLOWED_ORIGINS", "example.org"),
        ("WERKPLAATS_ALLOWED_ORIGINS", "https://example.org/path"),
        ("WERKPLAATS_SEND_BURST", "many"),
        ("WERKPLAATS_MAX_FRAME_BYTES", "1000"),
        ("WERKPLAATS_REDIS_URL", "http://x"),
        ("WERKPLAATS_SECRET_KEY", "short"),
        ("WERKPLAATS_LOG_LEVEL", "verbose"),
        ("WERKPLAATS_LOG_FORMAT", "xml"),
        ("WERKPLAATS_ARGON2_TIME_COST", "fast"),
        ("WERKPLAATS_ARGON2_MEMORY_KIB", "1"),
        ("WERKPLAATS_PUBLIC_URL", "werkplaats.example.nl"),
        ("WERKPLAATS_TRUSTED_PROXIES", "the-proxy"),
        ("WERKPLAATS_SESSION_DAYS", "0"),
        ("WERKPLAATS_SMTP_STARTTLS", "perhaps"),
        ("WERKPLAATS_WS_MAX_PER_USER", "-1"),
    ],
)
def test_bad_settings_name_the_variable(var: str, value: str, tmp_path: Path) -> None:
    """A malformed setting is refused with a message naming the variable."""
    with pytest.raises(SettingsError, match=var):
        load_settings({var: value}, env_file=tmp_path / "none")


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("WERKPLAATS_SEND_BURST", "many"),
        ("WERKPLAATS_LOG_LEVEL", "verbose"),
        ("WERKPLAATS_ARGON2_TIME_COST", "fast"),
    ],
)
def test_bad_setting_stops_the_command_with_exit_2(empty_sqlite: str, var: str, value: str) -> None:
    """A bad value stops the command before anything runs: exit 2, the variable named."""
    r = run(["demo"], empty_sqlite, **{var: value})
    assert r.returncode == 2
    assert var in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_requires_a_secret_key(empty_sqlite: str) -> None:
    """Outside the demo, `serve` refuses to start without WERKPLAATS_SECRET_KEY."""
    for blank in ("", "   "):
        r = run(["serve", "--port", "1"], empty_sqlite, WERKPLAATS_SECRET_KEY=blank)
        assert r.returncode == 2
        assert "WERKPLAATS_SECRET_KEY: required" in r.stderr


def test_a_secret_is_never_echoed_in_an_error(tmp_path: Path) -> None:
    """A refused secret key is named, never shown."""
    with pytest.raises(SettingsError) as caught:
        load_settings({"WERKPLAATS_SECRET_KEY": "hunter2-short"}, env_file=tmp_path / "none")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(load_settings({"WERKPLAATS_SECRET_KEY": "hunter2" * 4}))


def test_env_file_fills_in_unset_settings(tmp_path: Path) -> None:
    """A `.env` file sets what the environment does not."""
    env_file = tmp_path / ".env"
    env_file.write_text("WERKPLAATS_REDIS_URL=redis://127.0.0.1:6379/3\n", encoding="utf-8")
    assert load_settings({}, env_file=env_file).redis_url == "redis://127.0.0.1:6379/3"
    assert (
        load_settings({"WERKPLAATS_REDIS_URL": "redis://h:1/0"}, env_file=env_file).redis_url
        == "redis://h:1/0"
    )


def test_serve_raises_the_descriptor_limit_to_the_hard_limit() -> None:
    """`serve` lifts the soft open-file limit to the hard one (one descriptor a socket)."""
    import resource

    from web.cli import raise_descriptor_limit

    soft, hard = raise_descriptor_limit()
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (soft, hard)
    assert hard == resource.RLIM_INFINITY or soft == hard

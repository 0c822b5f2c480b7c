"""`werkplaats load` takes users without a password and invites them (once)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.accounts.conftest import PUBLIC, link_token, text_of
from tests.clients import Api
from tests.mailbox import Inbox
from web.cli import main

FILE = """
[[user]]
username = "wout"
display_name = "Wout Wiersma"
organisation = "Wetterskip Fryslân"
layer = "waterschap"
areas = ["area-a"]
email = "Wout@Example.nl"
"""


async def test_load_invites_users_without_a_password(
    api: Api,
    db_url: str,
    smtp: tuple[Inbox, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The invitation sets that account's password; a second load invites nobody again."""
    path = tmp_path / "more.toml"
    path.write_text(FILE, encoding="utf-8")
    for name, value in {
        "WERKPLAATS_DATABASE_URL": db_url,
        "WERKPLAATS_SMTP_HOST": "127.0.0.1",
        "WERKPLAATS_SMTP_PORT": str(smtp[1]),
        "WERKPLAATS_SMTP_TLS": "none",
        "WERKPLAATS_PUBLIC_URL": PUBLIC,
    }.items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["load", str(path)]) == 0
    assert "invited wout@example.nl" in capsys.readouterr().out
    token = link_token(text_of(smtp[0], "wout@example.nl"), "/uitnodiging#")
    assert await asyncio.to_thread(main, ["load", str(path)]) == 0
    assert "invited" not in capsys.readouterr().out and len(smtp[0].messages) == 1

    no_login = await api.post(None, "/api/session", {"username": "wout", "password": "x" * 12})
    assert no_login.status_code == 401
    shown = (await api.get(None, f"/api/invitations/{token}")).json()["invitation"]
    assert shown["username"] == "wout"
    path_accept = f"/api/invitations/{token}/accept"
    other = await api.post(
        None, path_accept, {"username": "wouter", "password": "lange-polder-2026"}
    )
    assert other.status_code == 409
    r = await api.post(None, path_accept, {"username": "wout", "password": "lange-polder-2026"})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["display_name"] == "Wout Wiersma"
    login = await api.post(
        None, "/api/session", {"username": "wout", "password": "lange-polder-2026"}
    )
    assert login.status_code == 200


def test_a_user_needs_a_password_or_an_email(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Neither: exit status 2, naming the entry and the field."""
    path = tmp_path / "bad.toml"
    path.write_text('[[user]]\nusername = "zonder"\ndisplay_name = "Z"\n', encoding="utf-8")
    monkeypatch.setenv("WERKPLAATS_DATABASE_URL", db_url)
    assert main(["load", str(path)]) == 2
    assert "user[0] (zonder): field 'password'" in capsys.readouterr().err

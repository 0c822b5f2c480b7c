"""`werkplaats digest`: received by a local SMTP server (aiosmtpd), rendered, access-filtered."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest

from tests.clients import Api
from tests.helpers import MEETING_ONE, SQLITE_ONLY, dutch_date
from tests.mailbox import Inbox
from tests.meetings.conftest import Store, days_ago
from web.cli import main


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None and page is not None
    return str(text.get_content()), str(page.get_content())


async def run_cli(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *argv: str) -> int:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return await asyncio.to_thread(main, list(argv))


async def test_digest_is_received_and_rendered(
    api: Api,
    store: Store,
    db_url: str,
    smtp: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each member with an address gets their own digest once; opted-out members get none."""
    inbox, port = smtp
    await store.meeting("meeting-zero", "theme-one", days_ago(7))
    q = await store.post("area-a", "amy", "Vraag voor @ann: <wanneer> & hoe?")
    r = await api.post("amy", f"/api/rooms/area-a/messages/{q}/mark", {"kind": "vraag"})
    assert r.status_code == 200
    # By someone else: what one wrote oneself, or joining oneself, is nothing new to read.
    await store.post("area-b", "mo", "Alleen voor gebied B")
    await store.post("theme-one", "bob", "Voor iedereen")
    for user, body in (
        ("ann", {"email": "ann@example.nl"}),
        ("bob", {"email": "bob@example.nl"}),
        ("amy", {"email": "amy@example.nl", "digest": False}),
    ):
        assert (await api.call(user, "PATCH", "/api/me", body)).status_code == 200
    env = {
        "WERKPLAATS_DATABASE_URL": db_url,
        "WERKPLAATS_SMTP_HOST": "127.0.0.1",
        "WERKPLAATS_SMTP_PORT": str(port),
        "WERKPLAATS_SMTP_FROM": "werkplaats@example.nl",
        # No login here, so a plain link is allowed; TLS is tested in test_digest_tls.py.
        "WERKPLAATS_SMTP_TLS": "none",
        "WERKPLAATS_SECRET_KEY": "a-test-secret-key-of-the-digest",
    }
    assert await run_cli(monkeypatch, env, "digest", "--meeting", "meeting-one", "--dry-run") == 0
    assert "--- to ann <ann@example.nl>" in capsys.readouterr().out and not inbox.messages

    assert await run_cli(monkeypatch, env, "digest", "--meeting", "meeting-one") == 0
    assert sorted(r[0] for r in inbox.recipients) == ["ann@example.nl", "bob@example.nl"]
    ann = inbox.to("ann@example.nl")
    assert ann["From"] == "werkplaats@example.nl"
    assert "Bijeenkomst één" in ann["Subject"] and dutch_date(MEETING_ONE) in ann["Subject"]
    text, page = parts(ann)
    assert "Sinds de vorige bijeenkomst" in text and "Beste Ann Aalders," in text
    assert "Vraag: Vraag voor @ann: <wanneer> & hoe?" in text
    assert f"Open vragen en actiepunten voor de bijeenkomst van {dutch_date(MEETING_ONE)}" in text
    assert "&lt;wanneer&gt; &amp; hoe?" in page and "<wanneer>" not in page
    assert "gebied B" not in text and "gebied B" not in page
    bob_text, _ = parts(inbox.to("bob@example.nl"))
    assert "Alleen voor gebied B" not in bob_text  # counts, not bodies, for plain messages
    assert "Gebied B" in bob_text and "Gebied A" not in bob_text
    err = capsys.readouterr().err
    assert "skipped amy: turned the digest off" in err and "skipped mo: no e-mail address" in err

    assert await run_cli(monkeypatch, env, "digest", "--meeting", "meeting-one") == 0
    assert len(inbox.messages) == 2
    assert "skipped ann: already sent for this meeting" in capsys.readouterr().err


@SQLITE_ONLY
async def test_digest_refuses_unknown_meeting_and_missing_host(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit status 2 with a message naming the problem; nothing is sent."""
    env = {"WERKPLAATS_DATABASE_URL": db_url}
    monkeypatch.delenv("WERKPLAATS_SMTP_HOST", raising=False)
    assert await run_cli(monkeypatch, env, "digest", "--meeting", "nope") == 2
    assert "no meeting 'nope'" in capsys.readouterr().err
    assert await run_cli(monkeypatch, env, "digest", "--meeting", "meeting-one") == 2
    assert "WERKPLAATS_SMTP_HOST" in capsys.readouterr().err

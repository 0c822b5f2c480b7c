"""The e-mail of what waits: unseen mentions and actiepunten, batched per member, sent once
by one of several processes, received by a local SMTP server."""

from __future__ import annotations

import asyncio
import html
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from chat.client import Client
from persistence.db import Database
from persistence.models import NotificationMail, utcnow
from tests.clients import Api, OpenClient
from tests.helpers import make_settings
from tests.mailbox import Inbox
from web.notifymail import WaitingMail
from web.settings import Settings


@pytest.fixture
def settings(db_url: str, smtp: tuple[Inbox, int]) -> Settings:
    return make_settings(
        db_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        smtp_tls="none",
        smtp_from="werkplaats@example.nl",
        secret_key="a-test-secret-key-of-the-notifications",
        notify_mail_seconds=0,
        # The server's own poller stays asleep: the test runs the rounds itself.
        notify_mail_poll_seconds=3600,
    )


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    return smtp[0]


@pytest.fixture
async def amy(api: Api, server: str, open_client: OpenClient) -> Client:
    """Amy's live client; ann (whom she mentions) has an e-mail address."""
    r = await api.call("ann", "PATCH", "/api/me", {"email": "ann@example.nl"})
    assert r.status_code == 200, r.text
    return await open_client(server, "amy")


async def noted(database: Database, count: int) -> None:
    """Until the server has noted `count` mails to be (the notifier works after the ack)."""
    async with asyncio.timeout(10):
        while True:
            async with database.read() as s:
                n = (await s.execute(select(func.count()).select_from(NotificationMail))).scalar()
            if n == count:
                return
            await asyncio.sleep(0.05)


async def test_one_batched_mail_from_one_of_two_processes(
    api: Api, server: str, amy: Client, inbox: Inbox, database: Database, settings: Settings
) -> None:
    """Two mentions and an actiepunt: one e-mail, listing all, sent by one process only."""
    await amy.send("area-a", "@ann kijk <hier> & daar")
    await amy.send("theme-one", "Ook hier, @ann")
    task = await amy.send("area-a", "Bel de provincie")
    await amy.send("theme-two", "@bob heeft geen adres")
    r = await api.post(
        "rita", f"/api/rooms/area-a/messages/{task['message_id']}/mark",
        {"kind": "actiepunt", "owner": "ann"},
    )  # fmt: skip
    assert r.status_code == 200
    await noted(database, 4)
    one, two = WaitingMail(settings, database, None), WaitingMail(settings, database, None)
    assert sum(await asyncio.gather(one.send_due(), two.send_due())) == 1
    assert await one.send_due() == 0 and await two.send_due() == 0
    assert [r for r in inbox.recipients] == [["ann@example.nl"]]
    mail = inbox.messages[0]
    assert mail["Subject"] == "Er wachten 3 berichten op je in De Werkplaats"
    assert mail.get_content_type() == "multipart/alternative"
    plain, rich = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and rich is not None
    text = plain.get_content()
    assert "Gebied A, Amy Arends noemde je: @ann kijk <hier> & daar" in text
    assert "Thema één, Amy Arends noemde je: Ook hier, @ann" in text
    assert "Gebied A, actiepunt voor jou: Bel de provincie" in text
    assert "http://127.0.0.1:8000/kamer/area-a?seq=1" in text
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The HTML part: Dutch, the member's text escaped, the same links.
    page = rich.get_content()
    assert '<html lang="nl">' in page and "Beste Ann Aalders," in page
    assert "@ann kijk &lt;hier&gt; &amp; daar" in page and "<hier>" not in page
    assert 'href="http://127.0.0.1:8000/kamer/area-a?seq=1"' in page
    assert f'href="{html.escape(unsubscribe)}">afmelden</a>' in page

    path = unsubscribe.removeprefix("http://127.0.0.1:8000")
    async with httpx.AsyncClient() as c:
        assert (await c.post(f"{server}{path}x")).status_code == 403
        # Followed as a link: a page that asks, and turns nothing off yet.
        page_r = await c.get(f"{server}{path}")
        assert page_r.status_code == 200 and "text/html" in page_r.headers["content-type"]
        assert f'action="{html.escape(path)}"' in page_r.text
        levels = await api.call("ann", "GET", "/api/me/notifications")
        assert levels.json()["mail"] is True
        r = await c.post(f"{server}{path}")
        assert r.status_code == 200 and r.json() == {"mail": False}
        # The page's button: a form post, answered with a page.
        done = await c.post(f"{server}{path}", headers={"Accept": "text/html"})
        assert done.status_code == 200 and "Je bent afgemeld" in done.text
    assert (await api.call("ann", "GET", "/api/me/notifications")).json()["mail"] is False
    await amy.send("theme-one", "@ann nog eentje")
    await noted(database, 5)
    assert await one.send_due() == 0 and len(inbox.messages) == 1


async def test_seen_silenced_or_present_is_not_mailed(
    api: Api, amy: Client, inbox: Inbox, database: Database, settings: Settings
) -> None:
    """Read in time, a room set to none afterwards: settled without a mail."""
    seen = await amy.send("area-a", "@ann al gezien")
    await amy.send("theme-one", "@ann stil gezet")
    await noted(database, 2)
    r = await api.post("ann", "/api/catchup/read", {"rooms": {"area-a": seen["seq"]}})
    assert r.status_code == 200, r.text
    await api.call("ann", "PUT", "/api/rooms/theme-one/notifications", {"level": "none"})
    assert await WaitingMail(settings, database, None).send_due() == 0
    async with database.read() as s:
        left = (
            await s.execute(
                select(func.count())
                .select_from(NotificationMail)
                .where(NotificationMail.sent_at.is_(None))
            )
        ).scalar()
    assert left == 0 and inbox.messages == []


async def test_rows_of_a_dead_process_are_mailed_later(
    api: Api, amy: Client, inbox: Inbox, database: Database, settings: Settings
) -> None:
    """Rows taken by a process that stopped before sending go out once the claim is stale."""
    await amy.send("theme-one", "@ann tijdens een herstart")
    await noted(database, 1)
    async with database.write() as s:
        await s.execute(update(NotificationMail).values(claim="dead", claimed_at=utcnow()))
    mail = WaitingMail(settings, database, None)
    assert await mail.send_due() == 0
    async with database.write() as s:
        await s.execute(
            update(NotificationMail).values(claimed_at=utcnow() - timedelta(minutes=16))
        )
    assert await mail.send_due() == 1 and len(inbox.messages) == 1


async def test_mail_setting_off_and_on(
    api: Api, amy: Client, inbox: Inbox, database: Database, settings: Settings
) -> None:
    """`PATCH /api/me/notifications` turns the e-mail off (nothing sent) and on again."""
    assert (await api.call("ann", "GET", "/api/me/notifications")).json()["mail"] is True
    off = await api.call("ann", "PATCH", "/api/me/notifications", {"mail": False})
    assert off.status_code == 200 and off.json() == {"mail": False}
    bad = await api.call("ann", "PATCH", "/api/me/notifications", {"mail": "nee"})
    assert bad.status_code == 400
    assert (
        await api.call(None, "PATCH", "/api/me/notifications", {"mail": True})
    ).status_code == 401
    await amy.send("area-a", "@ann terwijl het uit staat")
    await noted(database, 1)
    assert await WaitingMail(settings, database, None).send_due() == 0
    on = await api.call("ann", "PATCH", "/api/me/notifications", {"mail": True})
    assert on.json() == {"mail": True}
    await amy.send("area-a", "@ann weer aan")
    await noted(database, 2)
    assert await WaitingMail(settings, database, None).send_due() == 1
    assert len(inbox.messages) == 1

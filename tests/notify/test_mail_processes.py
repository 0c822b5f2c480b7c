"""The e-mail of what waits from two `werkplaats serve` processes, one of them killed and
restarted while the mentions wait: the member gets one mail, listing them all."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from persistence.db import Database
from tests.clients import OpenClient
from tests.helpers import ServerProcess, bearer, login, servers_env
from tests.mailbox import Inbox
from tests.notify.test_mail import noted

# Long enough that both processes are up again when the mentions fall due.
WAIT_SECONDS = 6
START_SECONDS = 120.0


@pytest.fixture
async def two_servers(
    db_url: str, redis_url: str, redis_prefix: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> AsyncIterator[list[ServerProcess]]:
    env = {
        **servers_env(db_url, redis_url, redis_prefix, tmp_path),
        "WERKPLAATS_SMTP_HOST": "127.0.0.1",
        "WERKPLAATS_SMTP_PORT": str(smtp[1]),
        "WERKPLAATS_SMTP_TLS": "none",
        "WERKPLAATS_SMTP_FROM": "werkplaats@example.nl",
        "WERKPLAATS_NOTIFY_MAIL_SECONDS": str(WAIT_SECONDS),
        "WERKPLAATS_NOTIFY_MAIL_POLL_SECONDS": "0.25",
    }
    procs = [ServerProcess(env), ServerProcess(env)]
    try:
        for proc in procs:
            proc.start()
        await asyncio.gather(*(asyncio.to_thread(p.wait_ready, START_SECONDS) for p in procs))
        yield procs
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in procs))


async def test_one_mail_from_two_processes_across_a_crash(
    two_servers: list[ServerProcess],
    smtp: tuple[Inbox, int],
    database: Database,
    open_client: OpenClient,
) -> None:
    inbox = smtp[0]
    a, b = two_servers
    async with httpx.AsyncClient(timeout=30) as http:
        token = await login(http, a.url, "ann")
        r = await http.patch(
            f"{a.url}/api/me", json={"email": "ann@example.nl"}, headers=bearer(token)
        )
        assert r.status_code == 200, r.text
    amy_a = await open_client(a.url, "amy")
    await amy_a.send("area-a", "@ann via de eerste")
    await amy_a.send("theme-one", "@ann nog een via de eerste")
    amy_b = await open_client(b.url, "amy")
    await amy_b.send("theme-one", "@ann via de tweede")
    await noted(database, 3)
    # A crash, then the same process back, while the mentions wait for their time.
    a.stop(signal.SIGKILL)
    a.start()
    await asyncio.to_thread(a.wait_ready, START_SECONDS)

    async with asyncio.timeout(WAIT_SECONDS + 60):
        while not inbox.messages:
            await asyncio.sleep(0.2)
    await asyncio.sleep(1.5)  # six more rounds of each poller: still one mail
    assert inbox.recipients == [["ann@example.nl"]]
    mail = inbox.messages[0]
    assert mail["Subject"] == "Er wachten 3 berichten op je in De Werkplaats"
    plain = mail.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    for said in ("@ann via de eerste", "@ann nog een via de eerste", "@ann via de tweede"):
        assert said in text

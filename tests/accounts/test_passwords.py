"""Changing one's password, and the forgotten-password link."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import update

from persistence.db import Database
from persistence.models import AccountToken, User, utcnow
from tests.accounts.conftest import link_token, text_of
from tests.clients import Api, OpenClient, wait_closed
from tests.helpers import bearer, login, password_of
from tests.mailbox import Inbox
from tests.moderation.conftest import audit_rows

NEW = "nieuwe-veenweide-2026"


async def test_password_change_ends_the_other_sessions(
    api: Api, server: str, open_client: OpenClient, client: httpx.AsyncClient, database: Database
) -> None:
    """204; another session's socket closes with 1008 and its token stops; this one goes on."""
    other_socket = await open_client(server, "ann")
    other_token = await login(client, server, "ann")
    r = await api.post("ann", "/api/me/password", {"current": password_of("ann"), "new": NEW})
    assert r.status_code == 204, r.text
    await wait_closed(other_socket)
    assert 1008 in other_socket.close_codes
    assert (await client.get(f"{server}/api/me", headers=bearer(other_token))).status_code == 401
    assert (await api.get("ann", "/api/me")).status_code == 200
    old = await api.post(None, "/api/session", {"username": "ann", "password": password_of("ann")})
    assert old.status_code == 401
    assert (
        await api.post(None, "/api/session", {"username": "ann", "password": NEW})
    ).status_code == 200
    assert "change_password" in [e.action for e in await audit_rows(database)]


async def test_password_change_refusals(api: Api) -> None:
    """A wrong current password is 403; a weak new one 400 weak_password."""
    wrong = await api.post("amy", "/api/me/password", {"current": "fout-fout-fout", "new": NEW})
    assert wrong.status_code == 403
    weak = await api.post(
        "amy", "/api/me/password", {"current": password_of("amy"), "new": "qwerty123456"}
    )
    assert weak.status_code == 400 and weak.json()["error"]["code"] == "weak_password"
    unauth = await api.post(None, "/api/me/password", {"current": "x", "new": NEW})
    assert unauth.status_code == 401


async def _mail_count(inbox: Inbox, n: int) -> None:
    async with asyncio.timeout(10):
        while len(inbox.messages) < n:
            await asyncio.sleep(0.02)


async def test_reset_link_sets_a_password_once_and_ends_sessions(
    api: Api, server: str, smtp: tuple[Inbox, int], database: Database, open_client: OpenClient
) -> None:
    """The mailed link works once; every session of the account ends; the new password works."""
    async with database.write() as s:
        await s.execute(update(User).where(User.username == "bob").values(email="bob@example.nl"))
    socket = await open_client(server, "bob")
    r = await api.post(None, "/api/password-reset", {"email": "BOB@example.nl"})
    assert r.status_code == 202
    await _mail_count(smtp[0], 1)
    token = link_token(text_of(smtp[0], "bob@example.nl"), "/wachtwoord-herstellen#")
    weak = await api.post(None, "/api/password-reset/confirm", {"token": token, "password": "kort"})
    assert weak.status_code == 400
    done = await api.post(None, "/api/password-reset/confirm", {"token": token, "password": NEW})
    assert done.status_code == 204, done.text
    await wait_closed(socket)
    again = await api.post(
        None, "/api/password-reset/confirm", {"token": token, "password": NEW + "x"}
    )
    assert again.status_code == 410 and again.json()["error"]["code"] == "gone"
    assert (
        await api.post(None, "/api/session", {"username": "bob", "password": NEW})
    ).status_code == 200
    actions = [e.action for e in await audit_rows(database)]
    assert "request_password_reset" in actions and "reset_password" in actions


async def test_reset_answers_the_same_for_unknown_addresses_and_expires(
    api: Api, smtp: tuple[Inbox, int], database: Database
) -> None:
    """An unknown address gets the same 202 and no mail; an expired link is gone."""
    unknown = await api.post(None, "/api/password-reset", {"email": "niemand@example.nl"})
    assert unknown.status_code == 202 and unknown.content == b""
    async with database.write() as s:
        await s.execute(update(User).where(User.username == "amy").values(email="amy@example.nl"))
    known = await api.post(None, "/api/password-reset", {"email": "amy@example.nl"})
    assert known.status_code == 202 and known.content == b""
    await _mail_count(smtp[0], 1)
    assert len(smtp[0].messages) == 1
    token = link_token(text_of(smtp[0], "amy@example.nl"), "/wachtwoord-herstellen#")
    async with database.write() as s:
        await s.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = await api.post(None, "/api/password-reset/confirm", {"token": token, "password": NEW})
    assert r.status_code == 410


async def test_reset_requests_are_rate_limited(api: Api) -> None:
    """Repeated requests for one address from one client get 429 with Retry-After."""
    statuses = [
        (await api.post(None, "/api/password-reset", {"email": "flood@example.nl"})).status_code
        for _ in range(7)
    ]
    assert statuses[0] == 202 and statuses[-1] == 429

"""Invitations: made by admins, mailed, shown without a session, accepted once (contract)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from persistence.db import Database
from persistence.models import Invitation, utcnow
from tests.accounts.conftest import PUBLIC, invite, link_token, text_of
from tests.clients import Api
from tests.helpers import bearer
from tests.mailbox import Inbox
from tests.moderation.conftest import audit_rows

STRONG = "veenweide-kikkers-2026"


async def test_invite_mail_accept_and_log_in(
    api: Api, smtp: tuple[Inbox, int], database: Database, client: httpx.AsyncClient
) -> None:
    """An admin invites; the mailed link shows the invitation and makes an account with a session."""
    r = await api.post(
        "ada",
        "/api/invitations",
        {
            "email": "Nina@Example.nl",
            "organisation": "Gemeente Heerenveen",
            "layer": "gemeente",
            "areas": ["area-a"],
            "display_name": "Nina",
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()["invitation"]
    assert made["url"].startswith(f"{PUBLIC}/uitnodiging#") and made["expires_at"]
    token = link_token(text_of(smtp[0], "nina@example.nl"), "/uitnodiging#")
    assert made["url"].endswith(token)
    async with database.read() as s:
        stored = (await s.execute(select(Invitation.token_hash))).scalar_one()
    assert token not in stored  # only a hash is kept

    shown = await api.get(None, f"/api/invitations/{token}")
    assert shown.status_code == 200
    assert shown.json()["invitation"] == {
        "email": "nina@example.nl",
        "organisation": "Gemeente Heerenveen",
        "layer": "gemeente",
        "areas": ["area-a"],
        "display_name": "Nina",
    }
    r = await api.post(
        None,
        f"/api/invitations/{token}/accept",
        {"username": "nina", "password": STRONG, "display_name": "Nina de Jong"},
    )
    assert r.status_code == 201, r.text
    assert "werkplaats_session" in r.headers["set-cookie"]
    body = r.json()
    assert (
        body["user"]["username"] == "nina" and body["user"]["organisation"] == "Gemeente Heerenveen"
    )
    rooms = await client.get(f"{api.base}/api/rooms", headers=bearer(body["token"]))
    assert "area-a" in {room["slug"] for room in rooms.json()["rooms"]}
    login = await api.post(None, "/api/session", {"username": "nina", "password": STRONG})
    assert login.status_code == 200

    actions = [e.action for e in await audit_rows(database)]
    assert "invite" in actions and "accept_invitation" in actions


async def test_used_and_expired_invitations_are_gone(api: Api, database: Database) -> None:
    """A used link and an expired one answer 410 gone, both to show and to accept."""
    used = await invite(api, "one@example.nl")
    body = {"username": "eentje", "password": STRONG, "display_name": "Een"}
    assert (await api.post(None, f"/api/invitations/{used}/accept", body)).status_code == 201
    again = await api.post(None, f"/api/invitations/{used}/accept", {**body, "username": "twee"})
    assert again.status_code == 410 and again.json()["error"]["code"] == "gone"
    assert (await api.get(None, f"/api/invitations/{used}")).status_code == 410

    old = await invite(api, "two@example.nl")
    async with database.write() as s:
        await s.execute(
            update(Invitation)
            .where(Invitation.email == "two@example.nl")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await api.get(None, f"/api/invitations/{old}")).status_code == 410
    r = await api.post(None, f"/api/invitations/{old}/accept", {**body, "username": "drie"})
    assert r.status_code == 410
    unknown = await api.get(None, "/api/invitations/" + "x" * 43)
    assert unknown.status_code == 410


async def test_taken_username_and_weak_passwords_are_refused(api: Api) -> None:
    """409 for a username taken; 400 weak_password for short or common ones; the link stays open."""
    token = await invite(api, "three@example.nl")
    path = f"/api/invitations/{token}/accept"
    taken = await api.post(None, path, {"username": "ann", "password": STRONG})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "conflict"
    for weak in ("kort-wacht", "qwerty123456", "1q2w3e4r5t6y"):
        r = await api.post(None, path, {"username": "drie", "password": weak})
        assert r.status_code == 400 and r.json()["error"]["code"] == "weak_password", weak
    assert (await api.post(None, path, {"username": "drie", "password": STRONG})).status_code == 201


async def test_only_admins_invite(api: Api) -> None:
    """A member or moderator is refused (403); an unknown area is a bad request."""
    for who in ("ann", "mo"):
        r = await api.post(who, "/api/invitations", {"email": "x@example.nl"})
        assert r.status_code == 403
    r = await api.post("ada", "/api/invitations", {"email": "x@example.nl", "areas": ["nope"]})
    assert r.status_code == 400


async def test_any_valid_address_and_name_is_invited_not_a_500(
    api: Api, smtp: tuple[Inbox, int]
) -> None:
    """A name with a line break, an address with a non-ASCII local part: the invitation is
    made (a fuzzer found both answered 500 while building the mail); control characters
    in an address are refused as bad input."""
    asked = [
        ("joran@voorbeeld.nl", "Jöran\nVisser", 201),
        ("jöran@voorbeeld.nl", "Jöran", 201),
        ("a\u0010b@voorbeeld.nl", "", 400),
        ("ab@voor\u008abeeld.nl", "", 400),
    ]
    for email, name, status in asked:
        body = {"email": email, "organisation": "Gemeente Ede", "layer": "gemeente"}
        r = await api.post("ada", "/api/invitations", {**body, "display_name": name})
        assert r.status_code == status, (email, r.text)
    header = smtp[0].to("joran@voorbeeld.nl")["To"]
    assert header.addresses[0].display_name == "Jöran Visser"

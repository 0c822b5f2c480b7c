"""Fixtures of the account tests: a server that mails to a local SMTP server."""

from __future__ import annotations

import os
import re

import pytest

from tests.clients import Api
from tests.helpers import make_settings
from tests.mailbox import Inbox
from web.settings import Settings

PUBLIC = "http://werkplaats.test"


@pytest.fixture
def settings(db_url: str, smtp: tuple[Inbox, int]) -> Settings:
    """The server's settings: mail to the local SMTP server, links to `PUBLIC`."""
    return make_settings(
        db_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        smtp_tls="none",
        smtp_from="werkplaats@example.nl",
        public_url=PUBLIC,
        allowed_origins=(PUBLIC,),
        # The key the suite's commands read: links made by `load` work on this server.
        secret_key=os.environ["WERKPLAATS_SECRET_KEY"],
    )


def link_token(body: str, path: str) -> str:
    """The token of the one-time link under `path` in a mail's text."""
    found = re.search(re.escape(f"{PUBLIC}{path}") + r"([A-Za-z0-9_-]+)", body)
    assert found is not None, body
    return found.group(1)


def text_of(inbox: Inbox, address: str) -> str:
    part = inbox.to(address).get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def invite(api: Api, email: str, **fields: object) -> str:
    """Invite `email` as the fixture admin; returns the token of the link."""
    r = await api.post("ada", "/api/invitations", {"email": email, **fields})
    assert r.status_code == 201, r.text
    url: str = r.json()["invitation"]["url"]
    return url.rsplit("#", 1)[1]

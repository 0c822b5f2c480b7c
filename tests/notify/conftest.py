"""Fixtures of the notification tests: a server that may push to loopback, and the push
service that plays the browsers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.clients import Api
from tests.helpers import make_settings
from tests.notify.pushservice import Browser, PushService, push_service
from web.settings import Settings


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url, push_allow_loopback=True)


@pytest.fixture
async def pushes(api: Api) -> AsyncIterator[PushService]:
    async with push_service() as service:
        r = await api.get("ann", "/api/push/key")
        assert r.status_code == 200, r.text
        service.server_key = r.json()["key"]
        yield service


async def subscribed(api: Api, pushes: PushService, username: str) -> Browser:
    """A browser of `username`, subscribed through `POST /api/me/push`."""
    browser = pushes.browser(username)
    r = await api.post(username, "/api/me/push", browser.subscription())
    assert r.status_code == 201, r.text
    return browser

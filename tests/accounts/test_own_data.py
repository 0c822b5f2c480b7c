"""The own-data download (`GET /api/me/export`), pinned byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from persistence import owndata
from persistence.accounts import user_by_name
from persistence.db import Database
from persistence.models import ReadMarker, iso
from persistence.rooms import room_by_slug
from tests.clients import Api
from tests.helpers import SQLITE_ONLY
from tests.moderation.conftest import post
from tests.moderation.test_cli import FIXED, MOMENT, rich_user

PINNED = Path(__file__).parent / "own-data.json"


async def more_rooms(database: Database) -> None:
    """A second room in ann's messages and read markers, so their order is pinned too."""
    await post(database, "area-b", "ann", "in een andere kamer")
    async with database.write() as session:
        ann, area_b = await user_by_name(session, "ann"), await room_by_slug(session, "area-b")
        assert ann and area_b
        session.add(ReadMarker(user_id=ann.id, room_id=area_b.id, seq=1, updated_at=FIXED))


@SQLITE_ONLY
async def test_own_data_json_is_pinned(api: Api, database: Database) -> None:
    """The download's JSON, byte for byte (tests/accounts/own-data.json): its keys, their
    order, the rows' order, the indentation and how each value is written."""
    await rich_user(database)
    await more_rooms(database)
    r = await api.get("ann", "/api/me/export")
    assert r.status_code == 200
    fixed = iso(FIXED)
    text = MOMENT.sub(lambda m: m[0] if m[1] == fixed else '"<moment>"', r.text)
    assert text == PINNED.read_text(encoding="utf-8")


async def test_own_data_keeps_the_newest_messages(
    api: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the limit, the download has the newest messages, oldest first, and says so."""
    monkeypatch.setattr(owndata, "MAX_MESSAGES", 2)
    for body in ("een", "twee", "drie"):
        await post(database, "area-a", "ann", body)
    data = (await api.get("ann", "/api/me/export")).json()
    assert [m["body"] for m in data["messages"]] == ["twee", "drie"]
    assert data["messages_complete"] is False

"""Room and user exports, pseudonymisation and the retention purge, on both databases."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from chat.frames import event_dict
from persistence import archive, events
from persistence.accounts import create_session, user_by_name
from persistence.db import Database
from persistence.models import (
    Event,
    MemberPreference,
    Membership,
    Message,
    MessageRevision,
    Session,
    utcnow,
)
from persistence.moderation import Source
from persistence.rooms import room_by_slug
from tests.moderation.conftest import audit_rows, post
from web.actions import archives

OPERATOR = Source("cli:tester", "cli@test")


async def hide(database: Database, message_id: int, by: str, reason: str) -> None:
    async with database.write() as session:
        message = await session.get(Message, message_id)
        user = await user_by_name(session, by)
        assert message is not None and user is not None
        await events.hide_message(session, message, user, reason)


async def export(database: Database, fmt: archive.ExportFormat, hidden: bool) -> str:
    out = io.StringIO()
    await archives.write_room_export(
        database, "area-a", out, OPERATOR, fmt=fmt, include_hidden=hidden
    )
    return out.getvalue()


async def test_room_export_leaves_hidden_text_out(database: Database) -> None:
    """JSON and Markdown exports have every event, and no hidden text without the flag."""
    await post(database, "area-a", "ann", "zichtbaar bericht")
    secret = await post(database, "area-a", "amy", "geheime tekst")
    await hide(database, secret, "rita", "privé")
    data = json.loads(await export(database, "json", False))
    assert data["room"]["slug"] == "area-a" and data["room"]["include_hidden"] is False
    assert [e["seq"] for e in data["events"]] == [1, 2, 3]
    assert data["events"][1]["hidden"] is True and data["events"][1]["body"] is None
    markdown = await export(database, "md", False)
    assert "> zichtbaar bericht" in markdown and "Bericht verborgen" in markdown
    assert "geheime tekst" not in markdown + json.dumps(data)
    assert [e.action for e in await audit_rows(database)] == ["export_room", "export_room"]


async def test_room_export_with_hidden_is_audited(database: Database) -> None:
    """--include-hidden puts the hidden text in, with who hid it and why, and is audited."""
    secret = await post(database, "area-a", "amy", "geheime tekst")
    await hide(database, secret, "rita", "privé")
    data = json.loads(await export(database, "json", True))
    message = data["events"][0]
    assert message["body"] == "geheime tekst"
    assert (message["hidden_by"], message["hidden_reason"]) == ("rita", "privé")
    assert "geheime tekst" in await export(database, "md", True)
    [entry, _] = await audit_rows(database, "export_room_hidden")
    assert (entry.actor, entry.room, entry.source) == ("cli:tester", "area-a", "cli@test")


async def test_user_export_has_all_their_data(database: Database) -> None:
    """export-user: profile, memberships, sessions, own messages (hidden too), no password."""
    mine = await post(database, "area-a", "ann", "mijn bericht")
    await hide(database, mine, "ann", "ingetrokken")
    await post(database, "area-a", "amy", "niet van ann")
    async with database.write() as session:
        ann = await user_by_name(session, "ann")
        assert ann is not None
        session.add(MemberPreference(user_id=ann.id, digest=False, email="ann@a.example"))
    data = await archives.user_export(database, "ann", OPERATOR)
    assert data["preferences"][0]["email"] == "ann@a.example"
    assert data["user"]["username"] == "ann" and data["user"]["organisation"] == "Gemeente A"
    assert data["memberships"][0]["room"] == "area-a"
    assert [m["body"] for m in data["messages"]] == ["mijn bericht"]
    assert data["messages"][0]["hidden"] is True
    text = json.dumps(data)
    assert "argon2" not in text and "password" not in text and "niet van ann" not in text
    [entry] = await audit_rows(database, "export_user")
    assert entry.target == "ann"


async def test_pseudonymise_keeps_the_archive_consistent(database: Database) -> None:
    """The account is anonymised, sessions and password gone; messages and seqs stay."""
    mid = await post(database, "area-a", "ann", "blijft staan")
    await hide(database, await post(database, "area-a", "ann", "weg"), "ann", "ingetrokken")
    async with database.write() as session:
        ann = await user_by_name(session, "ann")
        assert ann is not None
        await create_session(session, ann.id, "h" * 64, utcnow() + timedelta(days=1))
        session.add(MemberPreference(user_id=ann.id, email="ann@gemeente-a.example"))
    new = await archive.pseudonymise(database, "ann", OPERATOR, reason="AVG-verzoek 12")
    assert new == f"verwijderd-{ann.id}"
    async with database.read() as session:
        assert await user_by_name(session, "ann") is None
        user = await user_by_name(session, new)
        assert user is not None and user.pseudonymised
        assert (user.display_name, user.organisation, user.password_hash) == (
            "Verwijderde deelnemer",
            "",
            None,
        )
        for model in (Session, Membership, MemberPreference):
            rows = await session.execute(select(model).where(model.user_id == user.id))
            assert rows.first() is None
        message = await session.get(Message, mid)
        assert message is not None and message.body == "blijft staan" and message.seq == 1
        room = await room_by_slug(session, "area-a")
        assert room is not None
        stored, _ = await events.events_page(session, room.id)
    page = [event_dict("area-a", e) for e in stored]
    assert [e["seq"] for e in page] == [1, 2, 3]
    assert page[0]["author"]["display_name"] == "Verwijderde deelnemer"
    assert page[2]["by"] == new
    assert "ann" not in json.dumps(page)
    [entry] = await audit_rows(database, "pseudonymise")
    assert (entry.target, entry.reason) == (new, "AVG-verzoek 12")
    with pytest.raises(archive.ArchiveError, match="no user 'ann'"):
        await archive.pseudonymise(database, "ann", OPERATOR)
    with pytest.raises(archive.ArchiveError, match="already pseudonymised"):
        await archive.pseudonymise(database, new, OPERATOR)


async def test_purge_blanks_old_text_and_keeps_seqs(database: Database) -> None:
    """Messages older than the cutoff lose their text (and earlier versions); events stay."""
    old = await post(database, "area-a", "ann", "oud bericht")
    new = await post(database, "area-a", "amy", "nieuw bericht")
    async with database.write() as session:
        message = await session.get(Message, old)
        assert message is not None
        await events.edit_message(session, message, "oud, bewerkt", message.author_id)
        message.created_at = utcnow() - timedelta(days=40)
    assert await archive.purge(database, 30, OPERATOR, dry_run=True) == 1
    assert await archive.purge(database, 30, OPERATOR) == 1
    assert await archive.purge(database, 30, OPERATOR) == 0
    async with database.read() as session:
        purged, kept = await session.get(Message, old), await session.get(Message, new)
        assert purged is not None and purged.body == "" and purged.purged_at is not None
        assert kept is not None and kept.body == "nieuw bericht" and kept.purged_at is None
        revisions = (await session.execute(select(MessageRevision.body))).scalars().all()
        assert list(revisions) == [""]
        seqs = (await session.execute(select(Event.seq).order_by(Event.seq))).scalars().all()
    assert list(seqs) == [1, 2, 3]
    if database.is_sqlite:  # PostgreSQL derives its search vector from the (blank) body
        async with database.read() as session:
            indexed = await session.execute(
                text("SELECT rowid FROM message_search WHERE rowid IN (:old, :new)"),
                {"old": old, "new": new},
            )
            assert [row[0] for row in indexed] == [new]
    entries = await audit_rows(database, "purge")
    assert [e.details["messages"] for e in entries] == [1, 0]
    assert entries[0].details["older_than_days"] == 30
    with pytest.raises(archive.ArchiveError, match="at least 1 day"):
        await archive.purge(database, 0, OPERATOR)

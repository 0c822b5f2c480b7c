"""Changing and cancelling a meeting: the room event, the notice, the audit, iCalendar."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select

from persistence.db import Database
from persistence.models import CalendarFeed, utcnow
from tests.clients import Api, OpenClient
from tests.helpers import after_meeting_one

M = "/api/meetings/meeting-one"


def vevents(data: bytes) -> list[Calendar]:
    cal = Calendar.from_ical(data)
    return list(cal.walk("VEVENT"))


async def ics(api: Api) -> Calendar:
    r = await api.get("ann", f"{M}/ics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    (event,) = vevents(r.content)
    return event


async def test_change_is_a_room_event_a_notice_and_audited(
    api: Api, server: str, open_client: OpenClient
) -> None:
    """PATCH: `meeting_changed` in the meeting room, a notice to the registered, an audit entry."""
    assert (await api.call("ann", "PUT", f"{M}/registration", {"status": "going"})).is_success
    ann = await open_client(server, "ann")
    bob = await open_client(server, "bob")
    await bob.subscribe("meeting-one", since=None)
    new_start = f"{after_meeting_one(1).isoformat()}T13:30"
    body = {"date": new_start, "place": "Zwolle", "reason": "andere zaal"}
    r = await api.call("ada", "PATCH", M, body)
    assert r.status_code == 200, r.text
    changed = r.json()["meeting"]
    assert changed["place"] == "Zwolle" and changed["my_registration"] is None
    frame = await bob.wait_for(lambda f: f.get("type") == "meeting_changed")
    assert frame["room"] == "meeting-one" and frame["by"] == "ada"
    assert frame["meeting"]["place"] == "Zwolle" and frame["meeting"]["date"] == changed["date"]
    notice = await ann.wait_for(lambda f: f.get("type") == "notice")
    assert notice["kind"] == "meeting_changed" and "Zwolle" in notice["body"]
    assert notice["url"] == "/bijeenkomst/meeting-one"
    events = await api.events("ann", "meeting-one")
    assert events[-1]["type"] == "meeting_changed" and events[-1]["seq"] == frame["seq"]
    audit = (await api.get("ada", "/api/audit?action=change_meeting")).json()
    entry = audit["entries"][0]
    assert entry["action"] == "change_meeting" and entry["reason"] == "andere zaal"
    # The same values again change nothing: no event.
    assert (await api.call("ada", "PATCH", M, {"place": "Zwolle"})).status_code == 200
    assert (await api.events("ann", "meeting-one"))[-1]["seq"] == frame["seq"]


async def test_ics_sequence_and_cancellation(api: Api) -> None:
    """A stable UID; SEQUENCE rises with each change; STATUS:CANCELLED once cancelled."""
    first = await ics(api)
    assert str(first["SUMMARY"]) == "Bijeenkomst één" and str(first["LOCATION"]) == "Tijnje"
    assert first["STATUS"] == "CONFIRMED" and int(first["SEQUENCE"]) == 0
    start = first.decoded("DTSTART")
    assert first.decoded("DTEND") > start
    await api.call("ada", "PATCH", M, {"programme": "10:00 Welkom\n11:00 Excursie"})
    await api.call("ada", "PATCH", M, {"status": "cancelled"})
    last = await ics(api)
    assert last["UID"] == first["UID"] and int(last["SEQUENCE"]) == 2
    assert last["STATUS"] == "CANCELLED" and "Excursie" in str(last["DESCRIPTION"])
    assert (await api.get(None, f"{M}/ics")).status_code == 401


async def test_calendar_feed_as_a_calendar_client_reads_it(
    api: Api, client: httpx.AsyncClient, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """The secret address works without a session, lists what the member registered for,
    is stored as a hash only (and never logged), and ends when replaced or deleted."""
    caplog.set_level(logging.INFO, logger="werkplaats.http")
    r = await api.post("ann", "/api/me/calendar")
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    async with httpx.AsyncClient(timeout=10) as calendar_client:
        feed = await calendar_client.get(url)
        assert feed.status_code == 200 and vevents(feed.content) == []
        await api.call("ann", "PUT", f"{M}/registration", {"status": "maybe"})
        feed = await calendar_client.get(url)
        (event,) = vevents(feed.content)
        assert str(event["SUMMARY"]) == "Bijeenkomst één"
        async with database.read() as s:
            stored = (await s.execute(select(CalendarFeed.secret_hash))).scalars().all()
        assert stored and secret not in stored
        logged = [getattr(r, "path", "") for r in caplog.records]
        assert "/api/calendar/<secret>" in logged and not any(secret in p for p in logged)
        again = (await api.post("ann", "/api/me/calendar")).json()["url"]
        assert (await calendar_client.get(url)).status_code == 404
        assert (await calendar_client.get(again)).status_code == 200
        assert (await api.call("ann", "DELETE", "/api/me/calendar")).status_code == 204
        assert (await calendar_client.get(again)).status_code == 404


async def test_listing_order_coming_then_past(api: Api) -> None:
    """Coming meetings by date, then past ones newest first."""
    for slug, days in (("later", 20), ("long-ago", -60), ("recent", -5)):
        start = (utcnow() + timedelta(days=days)).date() if days < 0 else after_meeting_one(days)
        body = {
            "slug": slug,
            "title": slug,
            "theme": "theme-two",
            "date": start.isoformat(),
            "place": "Utrecht",
            "capacity": 30,
        }
        r = await api.post("ada", "/api/meetings", body)
        assert r.status_code == 201, r.text
        assert r.json()["meeting"]["capacity"] == 30
    r = await api.get("bob", "/api/meetings")
    slugs = [m["slug"] for m in r.json()["meetings"]]
    assert slugs == ["meeting-one", "later", "recent", "long-ago"]
    first = r.json()["meetings"][0]
    assert first["status"] == "planned" and first["counts"]["going"] == 0
    assert first["my_registration"] is None and first["theme_room"] is not None

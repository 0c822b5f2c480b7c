"""Meetings as iCalendar (RFC 5545): one meeting's .ics, and a member's feed of several.

The UID of a meeting never changes, and SEQUENCE is the meeting's change counter, so a
calendar that imported it once replaces its copy when the time moves or it is cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from persistence.models import Meeting
from rooms.registration import MeetingStatus

PRODID = "-//De Werkplaats//Bijeenkomsten//NL"
# A meeting without an end time is shown this long in calendars.
DEFAULT_LENGTH = timedelta(hours=3)


def uid(meeting: Meeting, public_url: str | None) -> str:
    """Stable per meeting: its id at the community's host (not the request's Host header)."""
    host = urlsplit(public_url).hostname if public_url else None
    return f"meeting-{meeting.id}@{host or 'werkplaats'}"


def vevent(meeting: Meeting, public_url: str | None, now: datetime) -> Event:
    event = Event()
    event.add("uid", uid(meeting, public_url))
    event.add("dtstamp", now)
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.ends_at or meeting.starts_at + DEFAULT_LENGTH)
    event.add("summary", meeting.title)
    event.add("location", meeting.place)
    event.add("description", meeting.programme or "")
    event.add("sequence", meeting.sequence)
    cancelled = meeting.status == MeetingStatus.CANCELLED.value
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if public_url:
        event.add("url", f"{public_url.rstrip('/')}/bijeenkomst/{meeting.slug}")
    return event


def calendar(
    meetings: Iterable[Meeting], public_url: str | None, now: datetime, name: str = ""
) -> bytes:
    """A VCALENDAR with one VEVENT per meeting."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if name:
        cal.add("x-wr-calname", name)
    for meeting in meetings:
        cal.add_component(vevent(meeting, public_url, now))
    data: bytes = cal.to_ical()
    return data

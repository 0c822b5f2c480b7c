"""Meetings: listing, one meeting, creating and changing (admins), registration, the
presence list and attendance (moderators), and iCalendar.

Handlers parse and call `web.actions.meetings`; the draft agenda is in `web.api.agenda`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence import registrations as regs
from persistence.events import iso
from persistence.meetings import all_meetings, listing, meeting_by_slug, ref
from persistence.models import utcnow
from rooms import moderation as rules
from rooms import text
from rooms.errors import BadRequest, NotFound
from rooms.meetings import meeting_before
from rooms.model import SLUG_RE
from rooms.registration import Answer
from web import ics
from web.actions import meetings as acts
from web.actions.common import Acting
from web.actions.publish import publish
from web.deps import caller, client_address, services
from web.openapi import api
from web.responses import JSON, body_as, query_as
from web.wire import author_wire
from web.wire import meetings as wire
from web.wire.rooms import room_wire


def _slug(request: Request) -> str:
    slug: str = request.path_params["slug"]
    if not SLUG_RE.fullmatch(slug):
        raise NotFound(f"no meeting {slug!r}")
    return slug


async def create_meeting(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    given = await body_as(request, wire.MeetingIn)
    slug, theme_slug = given.slug, given.theme
    if not SLUG_RE.fullmatch(slug):
        raise BadRequest("field 'slug' must be 1 to 64 of a-z, 0-9 and '-'")
    title, place = acts.text_field("title", given.title), acts.text_field("place", given.place)
    starts_at = rules.parse_meeting_start(given.date)
    programme = text.clean(given.programme or "").strip()
    reason = rules.optional_reason(given.reason)
    new = acts.NewMeeting(
        slug,
        title,
        theme_slug,
        starts_at,
        place,
        programme,
        capacity=given.capacity,
        closes_at=acts.moment(given.registration_closes_at, "registration_closes_at"),
        ends_at=acts.moment(given.ends_at, "ends_at"),
    )
    who_acts = Acting.member(who.actor, client_address(request))
    meeting, room = await acts.create_meeting(svc.db, who_acts, new, reason)
    async with svc.db.read() as session:
        body = {
            "meeting": await acts.meeting_body(session, meeting, who.user.id),
            "room": room_wire(room),
        }
    return JSON(body, status_code=201)


async def list_meetings(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    async with svc.db.read() as session:
        meetings = await acts.meeting_bodies(session, await listing(session, utcnow()), who.user.id)
    return JSON({"meetings": meetings})


async def get_meeting(request: Request) -> Response:
    """The meeting, the one before it, and who is going (by name, to every participant)."""
    svc = services(request)
    who = await caller(request)
    slug = _slug(request)
    async with svc.db.read() as session:
        meeting = await meeting_by_slug(session, slug)
        if meeting is None:
            raise NotFound(f"no meeting {slug!r}")
        meetings = await all_meetings(session)
        before = meeting_before([ref(m) for m in meetings], ref(meeting))
        previous = next((m for m in meetings if before is not None and m.id == before.id), None)
        going = await regs.going_people(session, meeting.id)
        body = {
            "meeting": await acts.meeting_body(session, meeting, who.user.id),
            "previous_meeting": (
                await acts.meeting_body(session, previous, who.user.id)
                if previous is not None
                else None
            ),
            "going": [author_wire(u) for u in going],
        }
    return JSON(body)


async def change_meeting(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = _slug(request)
    given = await body_as(request, wire.MeetingPatch)
    changes, reason = acts.meeting_changes(given), rules.optional_reason(given.reason)
    who_acts = Acting.member(who.actor, client_address(request))
    done = await acts.change_meeting(svc.db, who_acts, slug, changes, reason)
    await publish(svc.realtime, done)
    async with svc.db.read() as session:
        found = await meeting_by_slug(session, slug)
        assert found is not None
        return JSON({"meeting": await acts.meeting_body(session, found, who.user.id)})


async def put_registration(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = _slug(request)
    answer = Answer((await body_as(request, wire.RegistrationIn, max_bytes=1024)).status)
    got, done = await acts.register(svc.db, who.actor, slug, answer, utcnow())
    await publish(svc.realtime, done)
    return JSON({"registration": {"status": got.status, "position": got.position}})


CSV_COLUMNS = (
    "username",
    "display_name",
    "organisation",
    "layer",
    "status",
    "position",
    "registered_at",
    "attended",
)


def _csv_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def presence_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        user = row["user"]
        values = [user[k] for k in CSV_COLUMNS[:4]] + [row[k] for k in CSV_COLUMNS[4:]]
        writer.writerow([_csv_cell(v) for v in values])
    return out.getvalue()


async def list_registrations(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = _slug(request)
    fmt = query_as(request, wire.PresenceQuery).format
    async with svc.db.read() as session:
        meeting, _room = await acts.presence_room(session, who.actor, slug)
        rows = []
        waiting = 0
        for reg, user in await regs.registrations(session, meeting.id):
            waiting += reg.status == "waitlist"
            rows.append(
                {
                    "user": author_wire(user),
                    "status": reg.status,
                    "position": waiting if reg.status == "waitlist" else None,
                    "registered_at": iso(reg.registered_at),
                    "attended": reg.attended,
                }
            )
    if fmt == "csv":
        return Response(
            presence_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="aanwezigheid-{slug}.csv"'},
        )
    return JSON({"registrations": rows})


async def post_attendance(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    slug = _slug(request)
    given = await body_as(request, wire.AttendanceIn, max_bytes=512 * 1024)
    present = list(dict.fromkeys(u.strip().lower() for u in given.present))
    who_acts = Acting.member(who.actor, client_address(request))
    await acts.record_attendance(svc.db, who_acts, slug, present, utcnow())
    return JSON({"present": len(present)})


def calendar_response(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def get_ics(request: Request) -> Response:
    svc = services(request)
    await caller(request)
    slug = _slug(request)
    async with svc.db.read() as session:
        meeting = await meeting_by_slug(session, slug)
    if meeting is None:
        raise NotFound(f"no meeting {slug!r}")
    data = ics.calendar([meeting], svc.settings.public_url, utcnow())
    return calendar_response(data, f"{slug}.ics")


async def new_calendar_feed(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    secret = await acts.new_feed(svc.db, who.actor, utcnow())
    base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
    return JSON({"url": f"{base}/api/calendar/{secret}.ics"}, status_code=201)


async def end_calendar_feed(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    await acts.end_feed(svc.db, who.actor)
    return Response(status_code=204)


async def calendar_feed(request: Request) -> Response:
    """The member's feed, read by calendar programs: the secret in the address is the key."""
    svc = services(request)
    secret: str = request.path_params["secret"]
    if not acts.FEED_SECRET_RE.fullmatch(secret):
        raise NotFound("no such calendar")
    async with svc.db.read() as session:
        owner = await regs.feed_owner(session, acts.feed_hash(secret))
        if owner is None:
            raise NotFound("no such calendar")
        meetings = await regs.feed_meetings(session, owner.id)
    data = ics.calendar(meetings, svc.settings.public_url, utcnow(), "De Werkplaats")
    return calendar_response(data, "werkplaats.ics")


def routes() -> list[BaseRoute]:
    one, tag = "/api/meetings/{slug}", "meetings"
    ical = (("text/calendar", {"type": "string"}),)
    # fmt: off
    return [
        api("/api/meetings", "POST", create_meeting,
            "create a meeting and its room (admins only)", tag,
            out=wire.MeetingCreated, status=201, body=wire.MeetingIn, errors=(403, 409)),
        api("/api/meetings", "GET", list_meetings,
            "the meetings: coming ones by date, then past ones newest first", tag,
            out=wire.Meetings),
        api(one, "GET", get_meeting, "a meeting, the one before it, and who is going", tag,
            out=wire.MeetingOut, errors=(404,)),
        api(one, "PATCH", change_meeting, "change or cancel a meeting (admins only)", tag,
            out=wire.MeetingOne, body=wire.MeetingPatch, errors=(403, 404)),
        api(f"{one}/registration", "PUT", put_registration,
            "register: going, maybe or not going", tag,
            out=wire.RegistrationOut, body=wire.RegistrationIn, errors=(404, 409)),
        api(f"{one}/registrations", "GET", list_registrations,
            "the presence list (moderators and admins)", tag, out=wire.Registrations,
            query=wire.PresenceQuery, errors=(403, 404),
            also=(("text/csv", {"type": "string"}),)),
        api(f"{one}/attendance", "POST", post_attendance,
            "record who attended (moderators and admins, from the start)", tag,
            out=wire.AttendanceOut, body=wire.AttendanceIn, errors=(403, 404, 409)),
        api(f"{one}/ics", "GET", get_ics, "the meeting as iCalendar", tag,
            out=None, errors=(404,), also=ical),
        api("/api/me/calendar", "POST", new_calendar_feed,
            "a new secret address of the caller's meeting calendar", tag,
            out=wire.CalendarFeed, status=201),
        api("/api/me/calendar", "DELETE", end_calendar_feed,
            "end the caller's calendar address", tag, status=204),
        api("/api/calendar/{secret}.ics", "GET", calendar_feed,
            "a member's meeting calendar (the secret address is the key)", tag,
            out=None, errors=(404,), also=ical, auth=False),
    ]
    # fmt: on

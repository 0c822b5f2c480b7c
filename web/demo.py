"""The bundled demo: a living Werkplaats for a newcomer, loaded by `werkplaats demo`."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

from sqlalchemy import select

from chat.store import store_sends
from persistence import registrations, reports
from persistence.accounts import actor_for
from persistence.db import Database
from persistence.handshake import MeetingsRead
from persistence.meetings import meeting_by_slug
from persistence.models import Message, Room, User, utcnow
from persistence.sends import Send
from rooms.dutchtime import MONTHS, from_local, to_dutch
from rooms.errors import DomainError
from rooms.registration import Status
from web.actions import verslag
from web.actions.common import Acting
from web.actions.publish import NOTHING, Published

DEMO_DIR = Path(__file__).parent / "demo"

# (username, password, who) as printed by `werkplaats demo`; the same as in community.toml.
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("anna", "veenweide-2026", "waterschap, gebied Friese Veenweiden"),
    ("sjoerd", "veenweide-2026", "provincie, moderator van Friese Veenweiden"),
    ("marieke", "veenweide-2026", "gemeente, gebied Friese Veenweiden"),
    ("joost", "zeeland-delta-2026", "provincie, gebied Zuidwestelijke Delta"),
    ("fatima", "zeeland-delta-2026", "waterschap, gebied Zuidwestelijke Delta"),
    ("bram", "zandgrond-2026", "gemeente, gebied Zuidoostelijke zandgronden"),
    ("ingrid", "rijk-2026-lvvn", "Rijk, twee gebieden"),
    ("pieter", "moderator-2026", "moderator van de Werkplaats"),
    ("beheer", "werkplaats-admin-2026", "beheerder"),
]


async def load_demo(db: Database, today: date) -> int:
    """Add the demo messages to rooms that have none yet; returns how many were added.
    A meeting room named by the file's slug is the room of that meeting as placed today."""
    data = tomllib.loads((DEMO_DIR / "messages.toml").read_text(encoding="utf-8"))
    placed = demo_slugs(today)
    for entry in data["message"]:
        entry["room"] = placed.get(entry["room"], entry["room"])
    entries = sorted(data["message"], key=lambda m: -m["hours_ago"])
    now = utcnow()
    async with db.read() as session:
        rooms = {r.slug: r.id for r in (await session.execute(select(Room))).scalars()}
        filled = set((await session.execute(select(Message.room_id).distinct())).scalars())
        actors = {}
        for user in (await session.execute(select(User))).scalars():
            actors[user.username] = await actor_for(session, user)
    sends = [
        Send(
            actors[entry["author"]],
            entry["room"],
            entry["body"],
            f"demo-{n}",
            None,
            now - timedelta(hours=entry["hours_ago"]),
        )
        for n, entry in enumerate(entries)
        if rooms[entry["room"]] not in filled
    ]
    # The real send path, so that the demo's rooms are what users' sends make.
    for result in await store_sends(db, sends) if sends else []:
        if isinstance(result, DomainError):
            raise result
    return len(sends)


@dataclass(frozen=True, slots=True)
class DemoMeeting:
    """Where a demo meeting lies, in months from the day the demo is loaded; `slug` is the
    community file's (a dated one gets the placed day: `placed_slug`)."""

    slug: str
    months: int
    theme_name: str
    capacity: int | None
    going: tuple[str, ...]
    maybe: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()  # registered going, did not come


DEMO_MEETINGS = (
    DemoMeeting(
        "bijeenkomst-2026-10-01-bergen-op-zoom",
        -2,
        "Samenwerken met maatschappelijke partners",
        None,
        ("joost", "fatima", "ingrid", "pieter"),
    ),
    DemoMeeting(
        "bijeenkomst-2026-11-28-tijnje",
        -1,
        "Dynamisch programmeren",
        40,
        ("anna", "sjoerd", "marieke", "ingrid", "pieter"),
        absent=("marieke",),
    ),
    DemoMeeting(
        "werkplaats-zandgronden-deurne",
        1,
        "Werken als één overheid",
        25,
        ("bram", "ingrid", "sjoerd", "pieter"),
        maybe=("anna",),
    ),
)


def months_from(day: date, months: int) -> date:
    """The same day `months` later (or earlier), kept within the month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, min(day.day, 28))


# A slug that names its meeting's day: `bijeenkomst-2026-11-28-tijnje`.
DATED_SLUG = re.compile(r"^(bijeenkomst-)\d{4}-\d{2}-\d{2}(-[a-z0-9-]+)$")


def placed_slug(slug: str, day: date) -> str:
    """A dated slug with the day its meeting is placed on (a slug must not lie about its
    date); any other slug as it is."""
    return DATED_SLUG.sub(rf"\g<1>{day.isoformat()}\g<2>", slug)


def demo_slugs(today: date) -> dict[str, str]:
    """The community file's meeting slugs → the slugs of the meetings loaded `today`."""
    return {p.slug: placed_slug(p.slug, months_from(today, p.months)) for p in DEMO_MEETINGS}


def demo_day() -> date:
    """Today in the Netherlands: the day the demo's meetings are placed around."""
    return to_dutch(utcnow()).date()


def demo_slug(slug: str) -> str:
    """The slug a demo meeting loaded today has (`slug` as the community file names it)."""
    return demo_slugs(demo_day())[slug]


def placed_title(plan: DemoMeeting, day: date) -> str:
    return f"Werkplaats {day.day} {MONTHS[day.month - 1]}: {plan.theme_name}"


def render_community(text: str, today: date) -> str:
    """The demo's community file with each meeting's date, slug and title around `today`,
    so that loading it twice on one day changes nothing."""
    blocks = text.split("[[meeting]]")
    for n, block in enumerate(blocks[1:], start=1):
        for plan in DEMO_MEETINGS:
            if f'slug = "{plan.slug}"' in block:
                day = months_from(today, plan.months)
                block = re.sub(r"(?m)^date = .*$", f"date = {day.isoformat()}", block, count=1)
                slug = placed_slug(plan.slug, day)
                block = re.sub(r'(?m)^slug = ".*"$', f'slug = "{slug}"', block, count=1)
                title = placed_title(plan, day).replace('"', '\\"')
                block = re.sub(r'(?m)^title = ".*"$', f'title = "{title}"', block, count=1)
                blocks[n] = block
    return "[[meeting]]".join(blocks)


async def place_meetings(db: Database, today: date) -> None:
    """Registration details of the demo's meetings (placed by `render_community`): two
    held with attendance, one coming and open with a few going. Running it again on the
    same day changes nothing."""
    async with db.write() as session:
        users = {u.username: u.id for u in (await session.execute(select(User))).scalars()}
        for plan in DEMO_MEETINGS:
            day = months_from(today, plan.months)
            meeting = await meeting_by_slug(session, placed_slug(plan.slug, day))
            if meeting is None:
                continue
            meeting.ends_at = from_local(day, time(16, 30))
            meeting.capacity = plan.capacity
            meeting.registration_closes_at = from_local(day - timedelta(days=2), time(17, 0))
            answers = [(u, Status.GOING) for u in plan.going]
            answers += [(u, Status.MAYBE) for u in plan.maybe]
            for username, status in answers:
                current = await registrations.registration_of(session, meeting.id, users[username])
                if current is None:
                    at = meeting.starts_at - timedelta(days=20)
                    await registrations.set_status(
                        session, meeting.id, users[username], status, at, None
                    )
            if plan.months < 0:
                present = [users[u] for u in plan.going if u not in plan.absent]
                await registrations.set_attendance(session, meeting.id, present)
    db.part(MeetingsRead).forget()


# The verslag of the meeting held last month, published by the demo (docs/verslag.md).
DEMO_REPORT = ("bijeenkomst-2026-11-28-tijnje", DEMO_DIR / "verslag-tijnje.md")


async def publish_demo_report(db: Database, acting: Acting, today: date) -> Published:
    """Write and publish the demo's verslag once; running it again changes nothing."""
    slug, path = demo_slugs(today)[DEMO_REPORT[0]], DEMO_REPORT[1]
    async with db.read() as session:
        meeting = await meeting_by_slug(session, slug)
        if meeting is None or await reports.report_of(session, meeting) is not None:
            return NOTHING
    await verslag.write(db, acting, slug, path.read_text(encoding="utf-8"))
    _, published = await verslag.publish(db, acting, slug)
    return published

"""`werkplaats meeting add|list`: meetings from the command line, as admins make them by API.

The same rules as `POST /api/meetings`: the slug is free among rooms and meetings, the
theme exists, the date is a date (10:00 Dutch time) or a date-time (Dutch time unless it
has an offset); recorded in the audit log with the operator's OS account. What it prints
is in Dutch time.
"""

from __future__ import annotations

import argparse
import asyncio

from persistence.db import Database
from persistence.meetings import all_meetings, meeting_wire, theme_rooms, theme_slugs
from rooms import moderation as rules
from rooms import text
from rooms.dutchtime import format_dutch, parse_wire
from rooms.errors import DomainError
from rooms.model import SLUG_RE
from web.actions.common import Acting
from web.actions.meetings import NewMeeting, create_meeting
from web.cliutil import fail, operator, with_db
from web.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `werkplaats meeting` on the CLI's subcommands."""
    p = sub.add_parser("meeting", help="add or list Werkplaats meetings")
    actions = p.add_subparsers(dest="meeting_action", required=True)
    add = actions.add_parser("add", help="add a meeting and its room")
    add.add_argument("--slug", required=True)
    add.add_argument("--title", required=True)
    add.add_argument("--theme", required=True, help="the slug of the meeting's theme")
    add.add_argument(
        "--date",
        required=True,
        help="2026-12-01 (10:00 Dutch time), 2026-12-01T13:30 (Dutch time) or …Z",
    )
    add.add_argument("--place", required=True)
    add.add_argument("--programme", default="")
    add.add_argument("--reason", default="", help="why, for the audit log")
    add.set_defaults(run=cmd_meeting)
    ls = actions.add_parser("list", help="list the meetings, oldest first")
    ls.set_defaults(run=cmd_meeting)


async def add_meeting(db: Database, args: argparse.Namespace) -> str:
    """Create the meeting; returns a line describing it. Raises DomainError when refused."""
    if not SLUG_RE.fullmatch(args.slug):
        raise DomainError("--slug must be 1 to 64 of a-z, 0-9 and '-'")
    starts_at = rules.parse_meeting_start(args.date)
    title, place = text.clean(args.title).strip(), text.clean(args.place).strip()
    if not title or not place:
        raise DomainError("--title and --place must not be empty")
    programme = text.clean(args.programme).strip()
    new = NewMeeting(args.slug, title, args.theme, starts_at, place, programme)
    meeting, _ = await create_meeting(db, Acting(operator()), new, args.reason)
    return f"meeting {meeting.slug} on {format_dutch(starts_at)} created, room {meeting.slug}"


async def list_meetings(db: Database) -> list[str]:
    async with db.read() as session:
        themes, t_rooms = await theme_slugs(session), await theme_rooms(session)
        wires = [meeting_wire(m, themes, t_rooms) for m in await all_meetings(session)]
    return [
        f"{format_dutch(parse_wire(w['date']))}  {w['slug']:<24} {w['theme'] or '-':<24} "
        f"{w['place']}"
        for w in wires
    ]


def cmd_meeting(settings: Settings, args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        if args.meeting_action == "list":
            for line in await list_meetings(db):
                print(line)
            return 0
        try:
            print(await add_meeting(db, args))
        except DomainError as exc:
            return fail(f"{exc.message} (nothing was written)")
        return 0

    return asyncio.run(with_db(settings, job))

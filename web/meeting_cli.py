"""`werkplaats meeting add|change|cancel|list`: meetings from the command line, as admins
make and change them by API.

The same use-cases as `POST` and `PATCH /api/meetings…` (`web.actions.meetings`): the slug
is free among rooms and meetings, the theme exists, the date is a date (10:00 Dutch time)
or a date-time (Dutch time unless it has an offset); recorded in the audit log with the
operator's OS account; a change or cancellation is a `meeting_changed` room event and a
notice to everyone registered, told to running servers through Redis when configured. A
refusal names the command, the meeting, the option and why, and exits with status 2.
What it prints is in Dutch time.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from typing import Any

from persistence.db import Database
from persistence.meetings import (
    all_meetings,
    meeting_by_slug,
    theme_rooms,
    theme_slugs,
)
from rooms import moderation as rules
from rooms import text
from rooms.dutchtime import format_dutch, parse_wire
from rooms.errors import DomainError
from rooms.model import SLUG_RE
from web.actions.common import Acting
from web.actions.meetings import NewMeeting, change_meeting, create_meeting, meeting_changes
from web.cliutil import fail, notify_servers, operator, with_db
from web.settings import Settings
from web.wire.meetings import MeetingPatch, meeting_wire


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `werkplaats meeting` on the CLI's subcommands."""
    p = sub.add_parser("meeting", help="add, change, cancel or list Werkplaats meetings")
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
    change = actions.add_parser(
        "change", help="change a meeting; the registered are told (only the options given)"
    )
    change.add_argument("slug")
    change.add_argument("--title")
    change.add_argument("--date", help="as for add")
    change.add_argument("--ends-at", help="2026-12-01T16:30 (Dutch time), or 'none'")
    change.add_argument("--place")
    change.add_argument("--programme")
    change.add_argument("--capacity", help="places, or 'none' for no limit")
    change.add_argument("--closes-at", help="when registration closes (Dutch time), or 'none'")
    change.add_argument("--reason", default="", help="why, for the audit log")
    change.set_defaults(run=cmd_meeting)
    cancel = actions.add_parser("cancel", help="cancel a meeting; the registered are told")
    cancel.add_argument("slug")
    cancel.add_argument("--reason", default="", help="why, for the audit log")
    cancel.set_defaults(run=cmd_meeting)
    ls = actions.add_parser("list", help="list the meetings, oldest first")
    ls.set_defaults(run=cmd_meeting)


# The use-case's field names as this command's options, so a refusal names what was typed.
OPTIONS = {
    "date": "--date",
    "ends_at": "--ends-at",
    "registration_closes_at": "--closes-at",
    "capacity": "--capacity",
    "title": "--title",
    "place": "--place",
    "theme": "--theme",
}
FIELD = re.compile(r"field '([a-z_]+)'")


def as_options(message: str) -> str:
    return FIELD.sub(lambda m: OPTIONS.get(m[1], m[0]), message)


def _none(raw: str) -> bool:
    return raw.strip().lower() in ("none", "")


def _capacity(raw: str) -> int | None:
    if _none(raw):
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError(
            f"--capacity must be a whole number or 'none', not {raw[:20]!r}"
        ) from None


def changes_of(args: argparse.Namespace) -> dict[str, Any]:
    """The options given, as the Meeting model names its fields, parsed and cleaned."""
    given: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("title", "place", "programme", "date")
        if getattr(args, name) is not None
    }
    for name, raw in (("ends_at", args.ends_at), ("registration_closes_at", args.closes_at)):
        if raw is not None:
            given[name] = None if _none(raw) else raw
    if args.capacity is not None:
        given["capacity"] = _capacity(args.capacity)
    found = meeting_changes(MeetingPatch(**given))
    if not found:
        raise DomainError("nothing to change: give at least one of the options (see --help)")
    return found


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


async def change(settings: Settings, db: Database, args: argparse.Namespace) -> str:
    """Change or cancel the meeting (`args.meeting_action`); returns a line saying what
    happened. Raises DomainError when refused."""
    cancel = args.meeting_action == "cancel"
    changes = {"status": "cancelled"} if cancel else changes_of(args)
    done = await change_meeting(db, Acting(operator()), args.slug, changes, args.reason)
    await notify_servers(settings, db, done)
    if not done:
        return f"meeting {args.slug} unchanged: it was so already"
    async with db.read() as session:
        meeting = await meeting_by_slug(session, args.slug)
    assert meeting is not None
    when = format_dutch(meeting.starts_at)
    if cancel:
        return f"meeting {args.slug} of {when} cancelled; the registered are told"
    return f"meeting {args.slug} changed: {when}, {meeting.place}; the registered are told"


def cmd_meeting(settings: Settings, args: argparse.Namespace) -> int:
    async def job(db: Database) -> int:
        if args.meeting_action == "list":
            for line in await list_meetings(db):
                print(line)
            return 0
        try:
            if args.meeting_action == "add":
                print(await add_meeting(db, args))
            else:
                print(await change(settings, db, args))
        except DomainError as exc:
            where = f"meeting {args.meeting_action}"
            if args.meeting_action != "add":
                where += f" {args.slug}"
            return fail(f"{where}: {as_options(exc.message)} (nothing was written)")
        return 0

    return asyncio.run(with_db(settings, job))

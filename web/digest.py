"""The digest e-mail a few days before a meeting: `werkplaats digest --meeting SLUG`.

Per member with an e-mail address who has not turned it off: the catch-up since the last
meeting and the meeting's draft agenda, both limited to the rooms that member may read,
as plain text with an HTML alternative. Each member gets it once per meeting (recorded in
`digests_sent`) unless `--again` is given; `--dry-run` shows what would go out. Every
e-mail carries a one-click `List-Unsubscribe` (RFC 8058) for its member, and goes out over
a verified TLS link (web/mail.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select

from persistence import accounts
from persistence.agenda import agenda
from persistence.catchup import catchup
from persistence.db import Database
from persistence.meetings import meeting_by_slug, theme_rooms, theme_slugs
from persistence.models import DigestSent, MemberPreference, User, utcnow
from rooms.meetings import Since
from rooms.render import digest_html, digest_subject, digest_text
from web.cliutil import fail, with_db
from web.mail import MailError, recipient, send_messages
from web.settings import Settings
from web.unsubscribe import unsubscribe_url
from web.wire.between import agenda_wire, catchup_wire
from web.wire.meetings import meeting_wire


@dataclass(frozen=True, slots=True)
class Digest:
    user_id: int
    username: str
    display_name: str
    email: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What a digest run would do: the meeting, the e-mails, and who is skipped and why."""

    meeting_id: int
    digests: list[Digest]
    skipped: list[tuple[str, str]]
    # The web client's address: the e-mails link to it and to its unsubscribe endpoint.
    url: str


class DigestError(Exception):
    """The run cannot start (unknown meeting, no SMTP host); the message says why."""


async def plan(db: Database, slug: str, url: str, now: datetime, again: bool = False) -> Plan:
    """Build every member's digest for the meeting; sends nothing."""
    async with db.read() as session:
        meeting = await meeting_by_slug(session, slug)
        if meeting is None:
            raise DigestError(f"no meeting {slug!r}")
        wire = meeting_wire(meeting, await theme_slugs(session), await theme_rooms(session))
        prefs = {p.user_id: p for p in (await session.execute(select(MemberPreference))).scalars()}
        sent = set(
            (
                await session.execute(
                    select(DigestSent.user_id).where(DigestSent.meeting_id == meeting.id)
                )
            ).scalars()
        )
        users = (await session.execute(select(User).order_by(User.username))).scalars().all()
        digests: list[Digest] = []
        skipped: list[tuple[str, str]] = []
        for user in users:
            pref = prefs.get(user.id)
            if user.pseudonymised:
                continue
            if pref is not None and not pref.digest:
                skipped.append((user.username, "turned the digest off"))
                continue
            if pref is None or not pref.email:
                skipped.append((user.username, "no e-mail address"))
                continue
            if user.id in sent and not again:
                skipped.append((user.username, "already sent for this meeting"))
                continue
            actor = await accounts.actor_for(session, user)
            caught = catchup_wire(await catchup(session, actor, Since.LAST_MEETING, now))
            items = agenda_wire(await agenda(session, actor, meeting))
            digests.append(
                Digest(
                    user.id,
                    user.username,
                    user.display_name,
                    pref.email,
                    digest_subject(wire),
                    digest_text(user.display_name, wire, caught, items, url),
                    digest_html(user.display_name, wire, caught, items, url),
                )
            )
    return Plan(meeting.id, digests, skipped, url)


def email_of(digest: Digest, settings: Settings, url: str) -> EmailMessage:
    """The digest as an e-mail, with its member's one-click unsubscribe (RFC 2369, 8058)."""
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = settings.smtp_from
    message["To"] = recipient(digest.display_name, digest.email)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rsplit("@", 1)[1])
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{unsubscribe_url(url, digest.user_id, settings.secret_key)}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(digest.text)
    message.add_alternative(digest.html, subtype="html")
    return message


async def send(db: Database, settings: Settings, run: Plan) -> int:
    """Send the planned e-mails, then record them as sent; returns how many went out."""
    if settings.smtp_host is None:
        raise DigestError("set WERKPLAATS_SMTP_HOST to send the digest (or use --dry-run)")
    if not settings.secret_key:
        raise DigestError("set WERKPLAATS_SECRET_KEY: it signs the digest's unsubscribe links")
    if not run.digests:
        return 0
    messages = [email_of(d, settings, run.url) for d in run.digests]
    await asyncio.to_thread(send_messages, settings, messages)
    async with db.write() as session:
        for digest in run.digests:
            row = await session.get(DigestSent, (run.meeting_id, digest.user_id))
            if row is None:
                session.add(DigestSent(meeting_id=run.meeting_id, user_id=digest.user_id))
            else:
                row.sent_at = utcnow()
    return len(messages)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `werkplaats digest` on the CLI's subcommands."""
    p = sub.add_parser("digest", help="e-mail members what happened since the last meeting")
    p.add_argument("--meeting", required=True, help="the slug of the coming meeting")
    p.add_argument("--dry-run", action="store_true", help="show the e-mails, send nothing")
    p.add_argument("--again", action="store_true", help="also to members who already got it")
    p.add_argument("--url", default=None, help="the web client's address, linked in the e-mail")
    p.set_defaults(run=cmd_digest)


def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    url = args.url or ((settings.origins() or ("http://127.0.0.1:8000",))[0])

    async def job(db: Database) -> int:
        try:
            run = await plan(db, args.meeting, url, utcnow(), again=args.again)
            if args.dry_run:
                for d in run.digests:
                    print(f"--- to {d.username} <{d.email}>: {d.subject}\n{d.text}")
            else:
                count = await send(db, settings, run)
                print(f"digest for {args.meeting}: {count} e-mails sent")
        except DigestError as exc:
            return fail(str(exc))
        except MailError as exc:
            return fail(f"{exc}; nothing recorded as sent")
        for username, why in run.skipped:
            print(f"skipped {username}: {why}", file=sys.stderr)
        return 0

    return asyncio.run(with_db(settings, job))

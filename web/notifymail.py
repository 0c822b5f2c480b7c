"""The e-mail of what waits: mentions and actiepunten still unseen after a while, in one mail.

`web.notify` notes each mention and actiepunt for its member (`notification_mails`, due
`WERKPLAATS_NOTIFY_MAIL_SECONDS` later). Every serving process polls for due rows; a
process takes a member's rows with one UPDATE (`persistence.notifications.claim`), so each
row is mailed by one process only. What the member has seen by then (read marker at or past
the message), has open (present in the room), can no longer read, or silenced (level
`none`) is settled without a mail. A failed send releases the rows for a later try; rows of
a process that died while holding them are taken again after CLAIM_STALE (which can, after
such a crash, send a mail twice: never none).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from chat.presence import Presence
from persistence import notifications as repo
from persistence.db import Database
from persistence.models import MemberPreference, Message, NotificationMail, Room, User, utcnow
from rooms.mentions import excerpt
from rooms.notify import Kind, message_url
from web.mail import MailError, recipient, send_messages
from web.settings import Settings
from web.unsubscribe import NOTIFY_PATH, NOTIFY_PURPOSE, unsubscribe_url

log = logging.getLogger("werkplaats.notifymail")

CLAIM_STALE = timedelta(minutes=15)
# Members handled per poll; the rest wait for the next one.
USERS_PER_POLL = 200
EXCERPT = 200


@dataclass(frozen=True, slots=True)
class Waiting:
    room_slug: str
    room_name: str
    seq: int
    author: str
    kind: str
    text: str


class WaitingMail:
    """The poller of one process."""

    def __init__(self, settings: Settings, db: Database, presence: Presence | None) -> None:
        self.settings = settings
        self.db = db
        self.presence = presence
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return (
            self.settings.public_url or (self.settings.origins() or ("http://127.0.0.1:8000",))[0]
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notify-mail")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.notify_mail_poll_seconds)
            try:
                await self.send_due()
            except Exception:
                log.exception("notification mail round failed")

    async def send_due(self) -> int:
        """Mail every member with due rows once; returns how many mails went out."""
        now = utcnow()
        async with self.db.read() as session:
            users = await repo.users_due(session, now, now - CLAIM_STALE, USERS_PER_POLL)
        sent = 0
        for user_id in users:
            token = secrets.token_hex(16)
            async with self.db.write() as session:
                rows = await repo.claim(session, user_id, token, now, now - CLAIM_STALE)
            if not rows:
                continue  # another process took them
            try:
                mail = await self._compose(user_id, rows)
                if mail is not None:
                    await asyncio.to_thread(send_messages, self.settings, [mail])
                    sent += 1
            except Exception as exc:
                if isinstance(exc, MailError):
                    log.warning("notification mail not sent: %s", exc)
                else:
                    log.exception("notification mail not sent")
                async with self.db.write() as session:
                    await repo.settle(session, token, sent=False)
                continue
            async with self.db.write() as session:
                await repo.settle(session, token, sent=True)
        return sent

    async def _compose(self, user_id: int, rows: list[NotificationMail]) -> EmailMessage | None:
        async with self.db.read() as session:
            user = await session.get(User, user_id)
            pref = await session.get(MemberPreference, user_id)
            if (
                user is None
                or pref is None
                or not pref.email
                or await repo.mail_off(session, user_id)
            ):
                return None
            items: list[Waiting] = []
            for row in rows:
                room = await session.get(Room, row.room_id)
                message = await session.get(Message, row.message_id)
                if room is None or message is None or message.hidden:
                    continue
                if message.seq <= await repo.read_seq(session, user_id, room.id):
                    continue  # seen in time
                kind: Kind = "assigned" if row.kind == "assigned" else "mention"
                if not await repo.recipients(session, [user_id], room, kind):
                    continue  # no longer a reader, or the room silenced
                author = await session.get(User, message.author_id)
                items.append(
                    Waiting(
                        room.slug,
                        room.name,
                        message.seq,
                        author.display_name if author is not None else "Iemand",
                        kind,
                        excerpt(message.body, EXCERPT),
                    )
                )
        items = [i for i in items if not await self._present(user.username, i.room_slug)]
        if not items:
            return None
        return self.email(user, pref.email, items)

    async def _present(self, username: str, room: str) -> bool:
        """Whether the member has the room open right now (on any process)."""
        if self.presence is None:
            return False
        try:
            return username in await self.presence.online(room)
        except Exception:
            return False

    def email(self, user: User, address: str, items: list[Waiting]) -> EmailMessage:
        """One e-mail listing what waits, as plain text and as HTML (multipart/alternative),
        with a one-click unsubscribe; every text from members is escaped in the HTML."""
        base = self.base_url.rstrip("/")
        count = len(items)
        stop = unsubscribe_url(base, user.id, self.settings.secret_key, NOTIFY_PATH, NOTIFY_PURPOSE)
        subject = (
            "Er wacht 1 bericht op je in De Werkplaats"
            if count == 1
            else f"Er wachten {count} berichten op je in De Werkplaats"
        )
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.settings.smtp_from
        message["To"] = recipient(user.display_name, address)
        message["Message-ID"] = make_msgid(domain=self.settings.smtp_from.rsplit("@", 1)[1])
        message["Auto-Submitted"] = "auto-generated"
        message["List-Unsubscribe"] = f"<{stop}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(waiting_text(user.display_name, base, items, stop))
        message.add_alternative(
            waiting_html(user.display_name, subject, base, items, stop), subtype="html"
        )
        return message


WHY = (
    "Je krijgt deze e-mail omdat je dit niet op tijd gezien hebt. "
    "Per kamer stel je in wat je hoort; geen e-mail meer hierover:"
)


def _what(item: Waiting) -> str:
    return "actiepunt voor jou" if item.kind == "assigned" else f"{item.author} noemde je"


def waiting_text(name: str, base: str, items: list[Waiting], stop: str) -> str:
    lines = [f"Beste {name},", "", "Dit wacht op je in De Werkplaats:", ""]
    for item in items:
        lines.append(f"- {item.room_name}, {_what(item)}: {item.text}")
        lines.append(f"  {base}{message_url(item.room_slug, item.seq)}")
    lines += ["", WHY, stop]
    return "\n".join(lines)


def waiting_html(name: str, subject: str, base: str, items: list[Waiting], stop: str) -> str:
    """The HTML part: Dutch, every value escaped (names and texts come from members)."""
    e = html.escape
    rows = "".join(
        f"<li><p><strong>{e(item.room_name)}</strong>, {e(_what(item))}:</p>"
        f"<blockquote>{e(item.text)}</blockquote>"
        f'<p><a href="{e(base + message_url(item.room_slug, item.seq))}">Bekijk het bericht</a></p></li>'
        for item in items
    )
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head><body>"
        f"<p>Beste {e(name)},</p><p>Dit wacht op je in De Werkplaats:</p><ul>{rows}</ul>"
        f'<p>{e(WHY)} <a href="{e(stop)}">afmelden</a>.</p></body></html>'
    )

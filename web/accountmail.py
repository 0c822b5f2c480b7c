"""The account e-mails: an invitation and a password-reset link, sent after the commit.

Plain text only (no HTML to escape); the link is the only secret in it and is never
logged. Without `WERKPLAATS_SMTP_HOST` nothing can be sent: the invitation's link is still
in the admin's answer, and a reset request is logged as not sent.
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING

from web.mail import MailError, recipient, send_messages
from web.settings import Settings

if TYPE_CHECKING:
    from web.actions.accounts import Invited

log = logging.getLogger("werkplaats.mail")

INVITATION_PATH = "/uitnodiging#"
RESET_PATH = "/wachtwoord-herstellen#"


def link(base: str, path: str, token: str) -> str:
    """The web client's address of a one-time link (the token after `#`, so it reaches no
    server log and no Referer)."""
    return f"{base.rstrip('/')}{path}{token}"


def _message(settings: Settings, to: str, name: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = recipient(name, to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rsplit("@", 1)[1])
    message.set_content(body)
    return message


def invitation_message(
    settings: Settings, to: str, name: str, url: str, invited_by: str, days: int
) -> EmailMessage:
    body = (
        f"Goedendag{' ' + name if name else ''},\n\n"
        f"{invited_by} nodigt u uit voor De Werkplaats Vitaal Platteland.\n"
        f"Kies via deze link een gebruikersnaam en wachtwoord:\n\n{url}\n\n"
        f"De link werkt één keer en is {days} dagen geldig.\n"
    )
    return _message(settings, to, name, "Uitnodiging voor De Werkplaats", body)


def reset_message(settings: Settings, to: str, name: str, url: str, minutes: int) -> EmailMessage:
    body = (
        f"Goedendag{' ' + name if name else ''},\n\n"
        "Iemand heeft gevraagd om een nieuw wachtwoord voor uw account bij De Werkplaats.\n"
        f"Kies via deze link een nieuw wachtwoord:\n\n{url}\n\n"
        f"De link werkt één keer en is {minutes} minuten geldig. Hebt u dit niet gevraagd, "
        "dan kunt u deze e-mail negeren.\n"
    )
    return _message(settings, to, name, "Nieuw wachtwoord voor De Werkplaats", body)


async def send(settings: Settings, message: EmailMessage, what: str) -> bool:
    """Send one message in a worker thread; whether it went (failures are logged)."""
    if settings.smtp_host is None:
        log.warning("%s not sent: WERKPLAATS_SMTP_HOST is not set", what)
        return False
    try:
        await asyncio.to_thread(send_messages, settings, [message])
    except MailError as exc:
        log.warning("%s not sent: %s", what, exc)
        return False
    return True


async def send_invitation(
    settings: Settings, base: str, invited: Invited, invited_by: str, days: int
) -> tuple[str, bool]:
    """Mail an invitation's link; the link, and whether the mail went."""
    url = link(base, INVITATION_PATH, invited.token)
    message = invitation_message(
        settings, invited.email, invited.display_name, url, invited_by, days
    )
    return url, await send(settings, message, f"invitation {invited.id}")

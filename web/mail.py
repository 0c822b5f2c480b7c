"""Sending e-mail over SMTP with a verified TLS link: STARTTLS, implicit TLS, or none.

The server's certificate is checked against the system's CAs plus `WERKPLAATS_SMTP_CA_FILE`,
and its name against `WERKPLAATS_SMTP_HOST`; a link that cannot be verified is refused
before anything, the password included, is sent over it. Settings refuse a user and
password with `none`, and with `starttls` a server that offers no STARTTLS is refused.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage

from web.settings import Settings

SMTP_TIMEOUT = 30


class MailError(Exception):
    """The mail could not be sent; the message says why, naming the setting to look at."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def recipient(name: str, to: str) -> Address | str:
    """The To header: the name and address, or the bare address where no header can hold the
    name with it (Python's mail headers refuse a non-ASCII local part, as `jöran@…`)."""
    name = " ".join(_CONTROL.sub(" ", name).split())
    if not name:
        return to
    try:
        return Address(name, addr_spec=to)
    except ValueError:
        return to


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A verifying client context (TLS 1.2 or newer, hostname checked) with the extra CA."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.smtp_ca_file is not None:
        try:
            context.load_verify_locations(cafile=settings.smtp_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise MailError(
                f"WERKPLAATS_SMTP_CA_FILE={settings.smtp_ca_file!r}: no CA certificate: {exc}"
            ) from None
    return context


def _connect(settings: Settings) -> smtplib.SMTP:
    """An SMTP session on the configured link, encrypted and verified unless `none`."""
    assert settings.smtp_host is not None
    host, port = settings.smtp_host, settings.smtp_port
    if settings.smtp_tls == "implicit":
        return smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=tls_context(settings))
    smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    if settings.smtp_tls == "starttls":
        try:
            smtp.starttls(context=tls_context(settings))
        except smtplib.SMTPNotSupportedError:
            smtp.close()
            raise MailError(
                f"the SMTP server {host}:{port} offers no STARTTLS; nothing was sent (set "
                "WERKPLAATS_SMTP_TLS=implicit if it speaks TLS from the first byte)"
            ) from None
        except BaseException:
            smtp.close()
            raise
    return smtp


def send_messages(settings: Settings, messages: list[EmailMessage]) -> None:
    """Send the messages in one SMTP session (blocking; run it in a thread)."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with _connect(settings) as smtp:
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            for message in messages:
                smtp.send_message(message)
    except ssl.SSLCertVerificationError as exc:
        raise MailError(
            f"the certificate of the SMTP server {where} was refused "
            f"({exc.verify_message}); if it is signed by your own CA, name that CA's "
            "certificate in WERKPLAATS_SMTP_CA_FILE"
        ) from None
    except ssl.SSLError as exc:
        raise MailError(f"no TLS link with the SMTP server {where}: {exc.reason}") from None
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"the SMTP server {where} refused the login: {exc.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"sending through {where} failed: {exc}") from None

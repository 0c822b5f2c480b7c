"""The digest over verified TLS (STARTTLS and implicit) to a local SMTP server whose
certificate the test makes, and its one-click List-Unsubscribe against a real server."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.clients import Api
from tests.helpers import SQLITE_ONLY, free_port, make_settings
from tests.meetings.test_digest import Inbox, run_cli
from web.settings import Settings, SettingsError, load_settings
from web.unsubscribe import unsubscribe_token

SECRET = "a-test-secret-key-of-the-digest"
USER, PASSWORD = "werkplaats", "smtp-pass-Zeer-Geheim-42"
# The password as it could cross the wire: raw, AUTH LOGIN's base64, AUTH PLAIN's base64.
PASSWORD_FORMS = (
    PASSWORD.encode(),
    base64.b64encode(PASSWORD.encode()),
    base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()),
)
LOCAL_NAMES = ("127.0.0.1", "localhost")


@dataclass
class Mailserver:
    """A local SMTP server: its inbox, the logins it saw, the bytes clients sent it."""

    inbox: Inbox
    port: int = 0
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    wire: bytearray = field(default_factory=bytearray)

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        ok = data.login == USER.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=ok)

    def password_seen_in_clear(self) -> bool:
        return any(form in self.wire for form in PASSWORD_FORMS)

    def auth_before_tls(self) -> bool:
        """An AUTH command in the client's bytes before it asked for STARTTLS."""
        return b"AUTH" in self.wire.upper().split(b"STARTTLS", 1)[0]


StartMailserver = Callable[..., Awaitable[Mailserver]]


async def _pump(
    src: asyncio.StreamReader, dst: asyncio.StreamWriter, record: bytearray | None
) -> None:
    try:
        while data := await src.read(65536):
            if record is not None:
                record.extend(data)
            dst.write(data)
            await dst.drain()
    except OSError:
        pass
    finally:
        dst.close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    """The server shares the digest's secret key, which signs the unsubscribe links."""
    return make_settings(db_url, secret_key=SECRET)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def other_ca_file(tmp_path: Path) -> str:
    """A CA that signed nothing the server has."""
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
async def mailserver(ca: trustme.CA) -> AsyncIterator[StartMailserver]:
    """A factory: `await mailserver("starttls"|"implicit"|"none", names=...)`.

    The server sits behind a relay on loopback that records what the client sends, so a
    test can see what crossed the network in clear.
    """
    controllers: list[Controller] = []
    relays: list[asyncio.Server] = []
    # aiosmtpd's thread logs each session at INFO, also after pytest closed its capture.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    async def start(mode: str, names: tuple[str, ...] = LOCAL_NAMES) -> Mailserver:
        server = Mailserver(Inbox())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*names).configure_cert(context)
        options: dict[str, Any] = {"authenticator": server.authenticate}
        if mode == "starttls":
            options.update(tls_context=context, require_starttls=True)
        elif mode == "implicit":
            # aiosmtpd counts only STARTTLS as TLS for AUTH; here the link is TLS from the start.
            options.update(ssl_context=context, auth_require_tls=False)
        else:
            options.update(auth_require_tls=False)
        upstream = free_port()
        controller = Controller(server.inbox, hostname="127.0.0.1", port=upstream, **options)
        await asyncio.to_thread(controller.start)
        controllers.append(controller)

        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
            await asyncio.gather(
                _pump(reader, up_writer, server.wire), _pump(up_reader, writer, None)
            )

        front = await asyncio.start_server(relay, "127.0.0.1", 0)
        relays.append(front)
        server.port = front.sockets[0].getsockname()[1]
        return server

    yield start
    for front in relays:
        front.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(front.wait_closed(), 5)
    for controller in controllers:
        await asyncio.to_thread(controller.stop)


def smtp_env(db_url: str, server: Mailserver, mode: str, ca_file: str | None) -> dict[str, str]:
    env = {
        "WERKPLAATS_DATABASE_URL": db_url,
        "WERKPLAATS_SECRET_KEY": SECRET,
        "WERKPLAATS_SMTP_HOST": "127.0.0.1",
        "WERKPLAATS_SMTP_PORT": str(server.port),
        "WERKPLAATS_SMTP_FROM": "werkplaats@example.nl",
        "WERKPLAATS_SMTP_TLS": mode,
        "WERKPLAATS_SMTP_CA_FILE": ca_file or "",
    }
    if mode != "none":
        env |= {"WERKPLAATS_SMTP_USER": USER, "WERKPLAATS_SMTP_PASSWORD": PASSWORD}
    return env


async def give_address(api: Api, username: str) -> None:
    body = {"email": f"{username}@example.nl"}
    assert (await api.call(username, "PATCH", "/api/me", body)).status_code == 200


@SQLITE_ONLY
@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_digest_arrives_over_verified_tls(
    mode: str,
    api: Api,
    db_url: str,
    ca_file: str,
    mailserver: StartMailserver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the server's CA trusted, the digest arrives and the login went only over TLS."""
    server = await mailserver(mode)
    await give_address(api, "ann")
    env = smtp_env(db_url, server, mode, ca_file)
    assert await run_cli(monkeypatch, env, "digest", "--meeting", "meeting-one") == 0
    assert [r for r in server.inbox.recipients] == [["ann@example.nl"]]
    assert server.logins == [(USER.encode(), PASSWORD.encode())]
    assert server.wire and not server.password_seen_in_clear()
    assert not server.auth_before_tls()
    # The relay sees the greeting in clear only where STARTTLS starts the link plain.
    assert (b"EHLO" in server.wire.upper()) == (mode == "starttls")


@SQLITE_ONLY
@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_certificate_of_an_unknown_ca_is_refused(
    mode: str,
    api: Api,
    db_url: str,
    other_ca_file: str,
    mailserver: StartMailserver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A certificate no trusted CA signed stops the run: exit 2, no login, nothing sent."""
    server = await mailserver(mode)
    await give_address(api, "ann")
    env = smtp_env(db_url, server, mode, other_ca_file)
    assert await run_cli(monkeypatch, env, "digest", "--meeting", "meeting-one") == 2
    err = capsys.readouterr().err
    assert "certificate of the SMTP server" in err and "WERKPLAATS_SMTP_CA_FILE" in err
    assert "nothing recorded as sent" in err
    assert not server.logins and not server.inbox.messages
    assert not server.password_seen_in_clear()


@SQLITE_ONLY
async def test_certificate_for_another_host_is_refused(
    api: Api,
    db_url: str,
    ca_file: str,
    mailserver: StartMailserver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A certificate from the trusted CA but for another name is refused (hostname checked)."""
    server = await mailserver("starttls", names=("mail.example.nl",))
    await give_address(api, "ann")
    env = smtp_env(db_url, server, "starttls", ca_file)
    assert await run_cli(monkeypatch, env, "digest", "--meeting", "meeting-one") == 2
    err = capsys.readouterr().err
    assert "certificate of the SMTP server" in err and "127.0.0.1" in err
    assert not server.logins and not server.inbox.messages


@SQLITE_ONLY
async def test_server_without_starttls_gets_no_password(
    api: Api,
    db_url: str,
    ca_file: str,
    mailserver: StartMailserver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A server that offers no STARTTLS (a stripped link) is refused before any login."""
    server = await mailserver("none")
    await give_address(api, "ann")
    env = smtp_env(db_url, server, "starttls", ca_file)
    assert await run_cli(monkeypatch, env, "digest", "--meeting", "meeting-one") == 2
    assert "offers no STARTTLS" in capsys.readouterr().err
    assert not server.logins and not server.inbox.messages
    assert not server.password_seen_in_clear()


def test_password_over_a_plain_link_is_a_settings_error() -> None:
    """WERKPLAATS_SMTP_TLS=none with a user stops the command, naming the variable."""
    env = {"WERKPLAATS_SMTP_TLS": "none", "WERKPLAATS_SMTP_USER": USER}
    with pytest.raises(SettingsError, match="WERKPLAATS_SMTP_TLS=none"):
        load_settings(env, env_file=Path("/nonexistent"))


@pytest.mark.parametrize(
    ("env", "mode", "port"),
    [
        ({}, "starttls", 25),
        ({"WERKPLAATS_SMTP_TLS": "implicit"}, "implicit", 465),
        ({"WERKPLAATS_SMTP_STARTTLS": "true"}, "starttls", 25),
        ({"WERKPLAATS_SMTP_STARTTLS": "false"}, "none", 25),
        ({"WERKPLAATS_SMTP_TLS": "none", "WERKPLAATS_SMTP_STARTTLS": "true"}, "none", 25),
    ],
)
def test_tls_setting_and_its_older_form(env: dict[str, str], mode: str, port: int) -> None:
    """STARTTLS by default; the older WERKPLAATS_SMTP_STARTTLS is still read; 465 for implicit."""
    settings = load_settings(env, env_file=Path("/nonexistent"))
    assert (settings.smtp_tls, settings.smtp_port) == (mode, port)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WERKPLAATS_SMTP_TLS": "ssl"}, "WERKPLAATS_SMTP_TLS"),
        ({"WERKPLAATS_SMTP_CA_FILE": "/nonexistent/ca.pem"}, "WERKPLAATS_SMTP_CA_FILE"),
    ],
)
def test_bad_tls_settings_are_refused(env: dict[str, str], named: str) -> None:
    """An unknown TLS mode or a CA file that is not there is refused, naming the variable."""
    with pytest.raises(SettingsError, match=named):
        load_settings(env, env_file=Path("/nonexistent"))


async def test_list_unsubscribe_one_click(
    api: Api,
    server: str,
    client: httpx.AsyncClient,
    db_url: str,
    ca_file: str,
    mailserver: StartMailserver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The digest's List-Unsubscribe link, POSTed as RFC 8058 says, turns its member's digest off."""
    smtp = await mailserver("starttls")
    await give_address(api, "ann")
    await give_address(api, "bob")
    env = smtp_env(db_url, smtp, "starttls", ca_file)
    argv = ("digest", "--meeting", "meeting-one", "--url", server, "--again")
    assert await run_cli(monkeypatch, env, *argv) == 0
    mail = smtp.inbox.to("ann@example.nl")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(mail["List-Unsubscribe"])
    assert link.startswith(f"<{server}/api/digest/unsubscribe?token=") and link.endswith(">")
    # As a mail provider does it: no cookie, no session, the one-click body.
    r = await client.post(
        link[1:-1],
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.json() == {"digest": False}
    prefs = await api.get("ann", "/api/me/preferences")
    assert prefs.json()["preferences"]["digest"] is False
    assert (await api.get("bob", "/api/me/preferences")).json()["preferences"]["digest"] is True
    capsys.readouterr()
    assert await run_cli(monkeypatch, env, *argv) == 0
    assert "skipped ann: turned the digest off" in capsys.readouterr().err
    assert smtp.inbox.recipients.count(["ann@example.nl"]) == 1
    assert smtp.inbox.recipients.count(["bob@example.nl"]) == 2


@SQLITE_ONLY
async def test_unsubscribe_refuses_a_forged_or_missing_token(
    api: Api, server: str, client: httpx.AsyncClient
) -> None:
    """A token not signed with this server's key is 403, no token 400; nothing changes."""
    await give_address(api, "ann")
    url = f"{server}/api/digest/unsubscribe"
    for token in (unsubscribe_token(1, "another-secret-key-entirely"), "1.abc", "x", "1"):
        r = await client.post(url, params={"token": token})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await client.post(url)).status_code == 400
    assert (await api.get("ann", "/api/me/preferences")).json()["preferences"]["digest"] is True

"""Settings from the environment (and an optional `.env`), validated once at start.

Each field of `Settings` is the variable `WERKPLAATS_<FIELD>`; msgspec converts and checks
the strings against the field's type and bounds, and `SettingsError` names the variable.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from dotenv import dotenv_values

PREFIX = "WERKPLAATS_"
# Never echoed back in an error message or a repr.
SECRET_FIELDS = frozenset(
    {"secret_key", "smtp_password", "metrics_token", "files_s3_secret_key", "oidc_providers"}
)

Whole = Annotated[int, msgspec.Meta(ge=1)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and the reason."""


class OidcProvider(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One OpenID Connect identity provider for single sign-on (docs/accounts.md)."""

    # In the addresses /auth/oidc/{name}/login and …/callback.
    name: Annotated[str, msgspec.Meta(pattern="^[a-z0-9-]{1,32}$")]
    # Exactly as the provider's discovery document and ID tokens state it.
    issuer: Annotated[str, msgspec.Meta(pattern="^https?://")]
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    client_secret: str = ""
    # The login button's text ("Inloggen met …").
    display_name: str = ""
    # E-mail domains whose verified users may make an account without an invitation.
    signup_domains: tuple[str, ...] = ()


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = "sqlite+aiosqlite:///./werkplaats.db"
    redis_url: str | None = None
    # Pepper for stored session-token hashes; changing it signs everyone out.
    secret_key: str = ""
    # Where people reach the server (https://werkplaats.example.nl): the default allowed
    # Origin, and the base of links in mails.
    public_url: str | None = None
    allowed_origins: tuple[str, ...] = ()
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (addresses or networks).
    trusted_proxies: tuple[str, ...] = ()
    session_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    # Per-connection token bucket for `send` (contract minimum: 50, refilled at 20/s).
    send_burst: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 50
    send_rate: Positive = 20.0
    # Every frame (not only `send`) draws from this bucket: a client beyond it is flooding.
    frame_burst: Annotated[int, msgspec.Meta(ge=10, le=10_000_000)] = 200
    frame_rate: Positive = 50.0
    max_frame_bytes: Annotated[int, msgspec.Meta(ge=16 * 1024, le=64 * 1024)] = 64 * 1024
    backlog_cap: Annotated[int, msgspec.Meta(ge=500, le=100_000)] = 1000
    # Login throttle: failures per (username, address) before a block, within the window.
    login_max_failures: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    login_window_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 300
    # Failures per address (any usernames) in the window: an office behind one NAT mistypes
    # far fewer than 100 times in 5 minutes; a sprayer from one address is stopped.
    login_address_max_failures: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 100
    # Failures for one username (from anywhere) before each attempt waits 1, 2, 4 … seconds,
    # at most the cap: a distributed guesser gets ~1 try a minute; a trusted device never waits.
    login_user_free_failures: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 10
    login_user_max_delay_seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 60
    # Logins checking a password or waiting for their turn (web/admission.py; as many check
    # at once as there are cores): one more, or one that waited 10 s, is answered 503.
    login_admitted: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 200
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # `kv` (key=value lines) or `json` (one object a line).
    log_format: Literal["kv", "json"] = "kv"
    # Password hashing cost (argon2id); hashes made with other values are upgraded at login.
    argon2_time_cost: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3
    argon2_memory_kib: Annotated[int, msgspec.Meta(ge=8192, le=4 * 1024 * 1024)] = 65536
    # `GET /metrics` from other than loopback needs `Authorization: Bearer <token>`.
    metrics_token: str | None = None
    # Real time (/ws): Redis key and channel prefix, so servers (and test runs) can share a Redis.
    redis_prefix: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "wp"
    # A connection that sends no frame for this long is closed (clients ping every ~25 s).
    ws_idle_seconds: Positive = 120.0
    # Slow-loris deadlines (web/guard.py): a request head must arrive within this many
    # seconds (browsers send it in one packet), a body within this many after its head
    # (our bodies are small JSON).
    head_timeout_seconds: Positive = 10.0
    body_timeout_seconds: Positive = 30.0
    # An upload is many megabytes; what is bounded is the silence between its chunks.
    upload_idle_seconds: Positive = 60.0
    # Frames waiting for one slow client before it is closed with 1013.
    ws_queue_frames: Annotated[int, msgspec.Meta(ge=16, le=1_000_000)] = 2000
    # Upgrades being set up (session, room list, hello) or waiting for their turn; one more
    # is refused with 503 and Retry-After (web/ws.py runs at most 8 set-ups at once).
    ws_setups: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1000
    # Open sockets per user and per client address; one more upgrade is refused with 429.
    # A person has a tab or two per device; an office behind one NAT address has many people.
    ws_max_per_user: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 20
    ws_max_per_address: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 200
    # A drill setting (docs/reliability.md, "Clocks"): this process reads its host's wall
    # clock this many seconds off, as after a clock step. 0 outside tests and drills.
    clock_offset_seconds: Annotated[float, msgspec.Meta(ge=-86_400, le=86_400)] = 0.0
    # Presence entries of a process that died vanish after this long (refreshed every third).
    presence_ttl_seconds: Annotated[float, msgspec.Meta(ge=3, le=3600)] = 30.0
    # The digest e-mail (`werkplaats digest`): no host means it cannot be sent, only shown.
    smtp_host: str | None = None
    smtp_port: Port = 25
    smtp_from: str = "werkplaats@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    # How the link to the SMTP server is encrypted; the server's certificate is always
    # verified (system CAs plus `smtp_ca_file`). 465 is implicit TLS's port (RFC 8314).
    smtp_tls: Literal["starttls", "implicit", "none"] = "starttls"
    smtp_ca_file: str | None = None
    # Whether search engines may index the public pages (/openbaar): off, they are told not to.
    public_indexable: bool = False
    # Publications on one page of /openbaar, and entries in its Atom feed.
    public_page_size: Annotated[int, msgspec.Meta(ge=5, le=200)] = 20
    public_feed_size: Annotated[int, msgspec.Meta(ge=5, le=500)] = 50
    # Attachments (docs/files.md). The largest file (the contract's default: 25 MiB) and
    # what one user may have stored in all.
    files_max_bytes: Annotated[int, msgspec.Meta(ge=1024, le=8 * 1024**3)] = 25 * 1024**2
    files_quota_bytes: Annotated[int, msgspec.Meta(ge=1024, le=1024**5)] = 1024**3
    # The blobs' folder (local storage, the default) and where uploads are spooled while
    # they stream in (default: the system's temporary folder).
    files_dir: str = "./files"
    files_spool_dir: str | None = None
    # S3-compatible storage instead, when a bucket is named; no endpoint means AWS.
    files_s3_bucket: str | None = None
    files_s3_endpoint: str | None = None
    files_s3_region: str = "us-east-1"
    files_s3_access_key: str | None = None
    files_s3_secret_key: str | None = None
    files_s3_prefix: str = "blobs/"
    # Every upload is scanned by clamd; off only by an operator's explicit choice.
    files_scan: bool = True
    clamd_host: str = "127.0.0.1"
    clamd_port: Port = 3310
    clamd_timeout_seconds: Positive = 60.0
    # Single sign-on: a JSON list of providers, e.g. `[{"name": "rijk", "issuer":
    # "https://login.example.nl", "client_id": "werkplaats", "client_secret": "…"}]`.
    oidc_providers: tuple[OidcProvider, ...] = ()
    # Web Push (docs/notifications.md): the VAPID key is made once and kept in the database.
    push_enabled: bool = True
    # The contact in every VAPID token (RFC 8292 `sub`): mailto: or https:; by default
    # mailto: the mail sender.
    vapid_subject: str | None = None
    # Tests only: accept push endpoints at http://127.0.0.1 (a local push service).
    push_allow_loopback: bool = False
    # A mention or actiepunt still unseen after this long goes out in one e-mail per member.
    notify_mail_seconds: Annotated[float, msgspec.Meta(ge=0, le=7 * 86_400)] = 1800.0
    notify_mail_poll_seconds: Positive = 30.0
    # Level `all`: at most one push per member and room in this time, the rest grouped (a
    # busy conversation would otherwise buzz a phone every few seconds).
    notify_room_push_seconds: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 60.0
    # `serve --demo` (make run): the login page lists the demo accounts (GET /api/demo).
    demo: bool = False
    # Dead-peer detection across machines (docs/reliability.md, "Detection times"): a
    # black-holed network fails no call by itself, so every wait on PostgreSQL and Redis has
    # a deadline. Opening a PostgreSQL connection, and any one statement on it:
    database_connect_timeout_seconds: Positive = 5.0
    database_command_timeout_seconds: Positive = 30.0
    # The broker's subscriber connection pings Redis this often and is replaced when it has
    # heard nothing for three times as long (pub/sub alone is silent on a quiet server).
    redis_health_seconds: Positive = 2.0
    # A WebSocket whose frames have waited on its paused socket this long is closed with
    # 1013 (it resumes from its last seq), so that past capacity the slowest are shed
    # rather than everyone's latency growing; 0 turns it off (then only a full queue does).
    ws_max_lag_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 2.0
    # The kernel's send buffer of a WebSocket (SO_SNDBUF; the kernel doubles it), which a
    # reader that stops reading fills before its frames wait and the lag above counts. The
    # kernel's own sizing (0) gives a loopback socket, such as nginx's in front, megabytes.
    ws_send_buffer_bytes: Annotated[int, msgspec.Meta(ge=0, le=16 << 20)] = 262144
    # After a room event for many subscribers (a fan-out), the next WebSocket flush waits this
    # long, so that a busy room's events leave in one write per connection; 0: every turn.
    ws_fanout_linger_seconds: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.04

    def __post_init__(self) -> None:
        for check in (_check_database, _check_redis, _check_secret, _check_urls, _check_misc):
            check(self)

    def __repr__(self) -> str:
        shown = (
            f"{f.name}={'***' if f.name in SECRET_FIELDS else repr(getattr(self, f.name))}"
            for f in msgspec.structs.fields(self)
        )
        return f"Settings({', '.join(shown)})"

    @property
    def uses_redis(self) -> bool:
        return self.redis_url is not None

    def origins(self, own: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Allowed browser origins: the list, else the public URL's, else `own`."""
        if self.allowed_origins:
            return self.allowed_origins
        if self.public_url:
            return (_origin_of(self.public_url),)
        return own


def _bad(field: str, reason: str) -> SettingsError:
    return SettingsError(f"{PREFIX}{field.upper()}: {reason}")


def _check_database(s: Settings) -> None:
    if not s.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        scheme = s.database_url.split("://")[0]
        raise _bad(
            "database_url",
            f"{scheme}:// is not supported; use sqlite+aiosqlite:///path.db or "
            "postgresql+asyncpg://user@host/db",
        )


def _check_redis(s: Settings) -> None:
    if s.redis_url and not s.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise _bad("redis_url", "expected redis://host:port/db")


def _check_secret(s: Settings) -> None:
    if s.secret_key and len(s.secret_key) < 16:
        raise _bad("secret_key", "use at least 16 characters")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _check_urls(s: Settings) -> None:
    for origin in s.allowed_origins:
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or origin != _origin_of(origin)
        ):
            raise _bad("allowed_origins", f"{origin!r} is not an origin like https://host[:port]")
    if s.public_url is not None:
        parts = urlsplit(s.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _bad("public_url", f"{s.public_url!r} is not a URL like https://host[:port]")
    for proxy in s.trusted_proxies:
        if proxy == "*":
            continue
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise _bad("trusted_proxies", f"{proxy!r} is not an address or network") from None


def _check_misc(s: Settings) -> None:
    if "@" not in s.smtp_from:
        raise _bad("smtp_from", f"{s.smtp_from!r}: expected an e-mail address")
    if s.smtp_user is not None and s.smtp_tls == "none":
        raise SettingsError(
            f"{PREFIX}SMTP_TLS=none: the password of {PREFIX}SMTP_USER would cross the "
            "network in clear; use starttls or implicit"
        )
    if s.smtp_ca_file is not None and not os.access(s.smtp_ca_file, os.R_OK):
        raise _bad("smtp_ca_file", f"{s.smtp_ca_file!r}: no readable file there")
    if s.vapid_subject is not None and not s.vapid_subject.startswith(("mailto:", "https://")):
        raise _bad("vapid_subject", f"{s.vapid_subject!r}: expected mailto:… or https://…")
    if s.metrics_token is not None and len(s.metrics_token) < 16:
        raise _bad("metrics_token", "use at least 16 characters")


# Comma-separated variables.
_LISTS = frozenset({"allowed_origins", "trusted_proxies"})


def _split(raw: str) -> list[str]:
    return [item.strip().rstrip("/") for item in raw.split(",") if item.strip()]


def _raw_values(env: dict[str, str]) -> dict[str, Any]:
    """The strings of the variables that are set, keyed by field name."""
    values: dict[str, Any] = {}
    for f in msgspec.structs.fields(Settings):
        raw = env.get(PREFIX + f.name.upper())
        if raw is None or raw.strip() == "":
            continue
        raw = raw.strip()
        values[f.name] = _split(raw) if f.name in _LISTS else raw
    if "oidc_providers" in values:
        try:
            values["oidc_providers"] = msgspec.json.decode(values["oidc_providers"])
        except msgspec.DecodeError:
            raise SettingsError(f"{PREFIX}OIDC_PROVIDERS: not a JSON list of providers") from None
    if "log_level" in values:
        values["log_level"] = values["log_level"].upper()
    if "smtp_tls" in values:
        values["smtp_tls"] = values["smtp_tls"].lower()
    else:
        values["smtp_tls"] = _older_starttls(env.get(PREFIX + "SMTP_STARTTLS", ""))
    if "smtp_port" not in values and values["smtp_tls"] == "implicit":
        values["smtp_port"] = 465
    return values


def _older_starttls(raw: str) -> str:
    """WERKPLAATS_SMTP_STARTTLS, read where WERKPLAATS_SMTP_TLS is not set (older .env files)."""
    old = raw.strip().lower()
    if old in ("", "1", "true", "yes"):
        return "starttls"
    if old in ("0", "false", "no"):
        return "none"
    raise SettingsError(f"{PREFIX}SMTP_STARTTLS={old!r}: expected true or false")


def _explain(exc: msgspec.ValidationError, values: dict[str, Any]) -> SettingsError:
    """msgspec's `... - at `$.field`` as `WERKPLAATS_FIELD=value: reason`."""
    text = str(exc)
    reason, _, where = text.rpartition(" - at `$.")
    if not where:
        return SettingsError(text)
    field = where.split("`")[0].split("[")[0].split(".")[0]
    shown = "***" if field in SECRET_FIELDS else repr(values.get(field))
    return SettingsError(f"{PREFIX}{field.upper()}={shown}: {reason.lower()}")


def load_settings(
    environ: dict[str, str] | None = None,
    env_file: Path | None = None,
    *,
    require_secret: bool = False,
) -> Settings:
    """Read WERKPLAATS_* variables; a `.env` in the working directory fills in what is unset."""
    file = env_file if env_file is not None else Path(".env")
    env: dict[str, str] = {}
    if file.is_file():
        env.update({k: v for k, v in dotenv_values(file).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    values = _raw_values(env)
    try:
        settings = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        if isinstance(exc.__cause__, SettingsError) or str(exc).startswith(PREFIX):
            raise SettingsError(str(exc)) from None
        raise _explain(exc, values) from None
    if require_secret and not settings.secret_key:
        raise SettingsError(
            f"{PREFIX}SECRET_KEY: required (at least 16 random characters; "
            "for example `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return settings

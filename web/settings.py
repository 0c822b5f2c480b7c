"""Settings from the environment (and an optional `.env`), validated once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and the reason."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./werkplaats.db"
    redis_url: str | None = None
    # Pepper for stored session-token hashes; changing it signs everyone out.
    secret_key: str = field(default="", repr=False)
    allowed_origins: tuple[str, ...] = ()
    session_days: int = 30
    # Per-connection token bucket for `send` (contract minimum: 50, refilled at 20/s).
    send_burst: int = 50
    send_rate: float = 20.0
    # Every frame (not only `send`) draws from this bucket: a client beyond it is flooding.
    frame_burst: int = 200
    frame_rate: float = 50.0
    max_frame_bytes: int = 64 * 1024
    backlog_cap: int = 1000
    login_max_failures: int = 5
    login_window_seconds: int = 300
    log_level: str = "INFO"
    # Real time (/ws): Redis key and channel prefix, so servers (and test runs) can share a Redis.
    redis_prefix: str = "wp"
    # A connection that sends no frame for this long is closed (clients ping every ~25 s).
    ws_idle_seconds: float = 120.0
    # Frames waiting for one slow client before it is closed with 1013.
    ws_queue_frames: int = 2000
    # Upgrades being set up (session, room list, hello) or waiting for their turn; one more
    # is refused with 503 and Retry-After (web/ws.py runs at most 8 set-ups at once).
    ws_setups: int = 1000
    # Presence entries of a process that died vanish after this long (refreshed every third).
    presence_ttl_seconds: float = 30.0
    # The digest e-mail (`werkplaats digest`): no host means it cannot be sent, only shown.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "werkplaats@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    # How the link to the SMTP server is encrypted: "starttls", "implicit" or "none"; the
    # server's certificate is always verified (system CAs plus `smtp_ca_file`).
    smtp_tls: str = "starttls"
    smtp_ca_file: str | None = None

    @property
    def uses_redis(self) -> bool:
        return self.redis_url is not None


def _int(env: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name}={value}: expected a number from {lo} to {hi}")
    return value


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r}: expected a positive number")
    return value


def _origin_list(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if not origin.startswith(("http://", "https://")) or "/" in origin.split("://", 1)[1]:
            raise SettingsError(
                f"WERKPLAATS_ALLOWED_ORIGINS: {origin!r} is not an origin like https://host[:port]"
            )
    return origins


def load_settings(environ: dict[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Read WERKPLAATS_* variables; a `.env` in the working directory fills in what is unset."""
    file = env_file if env_file is not None else Path(".env")
    env: dict[str, str] = {}
    if file.is_file():
        env.update({k: v for k, v in dotenv_values(file).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    url = env.get("WERKPLAATS_DATABASE_URL") or Settings.database_url
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError(
            f"WERKPLAATS_DATABASE_URL: {url.split('://')[0]}:// is not supported; use "
            "sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
        )
    redis_url = env.get("WERKPLAATS_REDIS_URL") or None
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("WERKPLAATS_REDIS_URL: expected redis://host:port/db")
    secret = env.get("WERKPLAATS_SECRET_KEY") or ""
    if secret and len(secret) < 16:
        raise SettingsError("WERKPLAATS_SECRET_KEY: use at least 16 characters")
    return Settings(
        database_url=url,
        redis_url=redis_url,
        secret_key=secret,
        allowed_origins=_origin_list(env.get("WERKPLAATS_ALLOWED_ORIGINS", "")),
        session_days=_int(env, "WERKPLAATS_SESSION_DAYS", 30, 1, 365),
        send_burst=_int(env, "WERKPLAATS_SEND_BURST", 50, 1, 10_000_000),
        send_rate=_float(env, "WERKPLAATS_SEND_RATE", 20.0),
        frame_burst=_int(env, "WERKPLAATS_FRAME_BURST", 200, 10, 10_000_000),
        frame_rate=_float(env, "WERKPLAATS_FRAME_RATE", 50.0),
        max_frame_bytes=_int(env, "WERKPLAATS_MAX_FRAME_BYTES", 64 * 1024, 16 * 1024, 64 * 1024),
        backlog_cap=_int(env, "WERKPLAATS_BACKLOG_CAP", 1000, 500, 100_000),
        login_max_failures=_int(env, "WERKPLAATS_LOGIN_MAX_FAILURES", 5, 1, 1000),
        login_window_seconds=_int(env, "WERKPLAATS_LOGIN_WINDOW_SECONDS", 300, 1, 86_400),
        log_level=env.get("WERKPLAATS_LOG_LEVEL", "INFO").upper(),
        redis_prefix=_prefix(env.get("WERKPLAATS_REDIS_PREFIX") or "wp"),
        ws_idle_seconds=_float(env, "WERKPLAATS_WS_IDLE_SECONDS", 120.0),
        ws_queue_frames=_int(env, "WERKPLAATS_WS_QUEUE_FRAMES", 2000, 16, 1_000_000),
        ws_setups=_int(env, "WERKPLAATS_WS_SETUPS", 1000, 1, 1_000_000),
        presence_ttl_seconds=float(_int(env, "WERKPLAATS_PRESENCE_TTL_SECONDS", 30, 3, 3600)),
        **_smtp(env),
    )


SMTP_TLS_MODES = ("starttls", "implicit", "none")


def _smtp(env: dict[str, str]) -> dict[str, Any]:
    """WERKPLAATS_SMTP_HOST/PORT/FROM/USER/PASSWORD/TLS/CA_FILE for the digest e-mail."""
    tls = _smtp_tls(env)
    sender = env.get("WERKPLAATS_SMTP_FROM") or Settings.smtp_from
    if "@" not in sender:
        raise SettingsError(f"WERKPLAATS_SMTP_FROM={sender!r}: expected an e-mail address")
    user = env.get("WERKPLAATS_SMTP_USER") or None
    if user is not None and tls == "none":
        raise SettingsError(
            "WERKPLAATS_SMTP_TLS=none: the password of WERKPLAATS_SMTP_USER would cross the "
            "network in clear; use starttls or implicit"
        )
    ca_file = env.get("WERKPLAATS_SMTP_CA_FILE") or None
    if ca_file is not None and not os.access(ca_file, os.R_OK):
        raise SettingsError(f"WERKPLAATS_SMTP_CA_FILE={ca_file!r}: no readable file there")
    return {
        "smtp_host": env.get("WERKPLAATS_SMTP_HOST") or None,
        # 465 is the port of implicit TLS (RFC 8314); 25 the one of plain and STARTTLS.
        "smtp_port": _int(env, "WERKPLAATS_SMTP_PORT", 465 if tls == "implicit" else 25, 1, 65535),
        "smtp_from": sender,
        "smtp_user": user,
        "smtp_password": env.get("WERKPLAATS_SMTP_PASSWORD") or None,
        "smtp_tls": tls,
        "smtp_ca_file": ca_file,
    }


def _smtp_tls(env: dict[str, str]) -> str:
    """WERKPLAATS_SMTP_TLS, else the older WERKPLAATS_SMTP_STARTTLS, else starttls."""
    raw = env.get("WERKPLAATS_SMTP_TLS", "").strip().lower()
    if raw:
        if raw not in SMTP_TLS_MODES:
            raise SettingsError(
                f"WERKPLAATS_SMTP_TLS={raw!r}: expected one of {', '.join(SMTP_TLS_MODES)}"
            )
        return raw
    old = env.get("WERKPLAATS_SMTP_STARTTLS", "").strip().lower()
    if old in ("", "1", "true", "yes"):
        return "starttls"
    if old in ("0", "false", "no"):
        return "none"
    raise SettingsError(f"WERKPLAATS_SMTP_STARTTLS={old!r}: expected true or false")


def _prefix(raw: str) -> str:
    if not raw.replace("-", "").replace("_", "").replace(".", "").isalnum() or len(raw) > 64:
        raise SettingsError(f"WERKPLAATS_REDIS_PREFIX={raw!r}: use letters, digits, '-', '_', '.'")
    return raw

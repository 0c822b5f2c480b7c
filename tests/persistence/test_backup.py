"""persistence.backup's hand-over to libpq: the URL's parts in the environment, none on a command line."""

from __future__ import annotations

import pytest

from persistence.backup import BackupError, libpq_env


def test_url_becomes_libpq_environment() -> None:
    """Host, port, user, database, password and TLS mode reach pg_dump through its environment."""
    env = libpq_env(
        "postgresql+asyncpg://wp:p%40ss%20word@db.internal:5433/werkplaats?ssl=require",
        base={"PATH": "/usr/bin", "PGSSLROOTCERT": "/etc/ca.pem"},
    )
    assert env == {
        "PATH": "/usr/bin",
        "PGSSLROOTCERT": "/etc/ca.pem",
        "PGHOST": "db.internal",
        "PGPORT": "5433",
        "PGUSER": "wp",
        "PGPASSWORD": "p@ss word",
        "PGDATABASE": "werkplaats",
        "PGSSLMODE": "require",
    }


def test_url_parameter_libpq_does_not_know_is_refused() -> None:
    """A URL parameter pg_dump cannot be given is named, not silently dropped."""
    with pytest.raises(BackupError, match="command_timeout="):
        libpq_env("postgresql+asyncpg://wp@db/werkplaats?command_timeout=5", base={})

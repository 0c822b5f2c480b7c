"""Bring a database to the current schema with Alembic (called by every CLI command)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).parent
log = logging.getLogger("werkplaats.migrate")


def alembic_config(url: str) -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade to head on the given engine; concurrent callers serialise on the database."""

    def run(connection: Connection) -> None:
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = connection
        if connection.dialect.name == "postgresql":
            # Several processes may start at once: one migrates, the others wait.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        # During a rolling upgrade a newer release may have migrated already (an expand
        # step, which this release's queries tolerate): a process of this release that
        # (re)starts then must run, not fail on a revision it has never heard of.
        current = MigrationContext.configure(connection).get_current_heads()
        unknown = _unknown(ScriptDirectory.from_config(cfg), current)
        if unknown:
            log.warning(
                "the database is at revision %s, newer than this release: not migrating",
                ",".join(unknown),
            )
            return
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(run)


def _unknown(scripts: ScriptDirectory, revisions: tuple[str, ...]) -> list[str]:
    """The revisions that no migration of this release knows."""
    missing = []
    for rev in revisions:
        try:
            if scripts.get_revision(rev) is None:
                missing.append(rev)
        except (ResolutionError, CommandError):
            missing.append(rev)
    return missing

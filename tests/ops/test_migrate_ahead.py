"""A process of an older release starts on a database a newer release has migrated."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.migrate import migrate
from tests.helpers import Templates


async def test_migrate_leaves_a_database_of_a_newer_release_alone(
    templates: Templates, tmp_path: Path
) -> None:
    """Rolling upgrade: after the new release's expand step, the old one still starts."""
    url = await templates.sqlite(tmp_path / "test.db")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        await migrate(engine)  # no "Can't locate revision"
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        assert version == "9999_future"
    finally:
        await engine.dispose()

"""Backups of the whole database and their restore: `werkplaats backup FILE`, `restore FILE`.

SQLite: the online backup API copies the database in one step, a consistent snapshot of
the moment it starts while writers go on (WAL mode: a reader holds up no writer); the copy
is a single self-contained file (rollback journal, checked with `quick_check`).
PostgreSQL: `pg_dump --format=custom` (one MVCC snapshot) and `pg_restore` in one
transaction. Either file appears only complete: it is written beside, then renamed.

A restore goes into an empty database (a migrated one without users, rooms or messages
counts as empty): the caller migrates afterwards, which brings an older backup up to date.
A database that holds data is replaced only with `force`. The file's format must match
the configured backend. Servers on the target database must be stopped first.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from sqlalchemy import inspect, make_url, select, text, update
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from persistence.models import Event, Room, utcnow

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
FORMATS = {"sqlite": "an SQLite database", "postgresql": "a pg_dump custom-format archive"}
# What makes a database "hold data": the community and its history. A freshly migrated
# database has the tables but no rows in them (search index tables may hold bookkeeping).
DATA_TABLES = ("users", "rooms", "messages")
SQLITE_BUSY_SECONDS = 30.0
# Query parameters of an asyncpg URL that libpq understands as environment variables.
LIBPQ_QUERY = {"sslmode": "PGSSLMODE", "ssl": "PGSSLMODE", "host": "PGHOST", "port": "PGPORT"}


class BackupError(Exception):
    """A backup or restore cannot be done; the message names the file and the reason."""


def backend(url: str) -> str:
    """`sqlite` or `postgresql`, from the database URL."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sqlite_path(url: str) -> Path:
    """The database file of an SQLite URL."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"{url}: only an SQLite database in a file can be backed up")
    return Path(database)


def libpq_env(url: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment in which pg_dump and pg_restore reach the URL's database.

    The password goes in PGPASSWORD, never on a command line that `ps` shows to everyone.
    """
    parsed: URL = make_url(url)
    env = dict(os.environ if base is None else base)
    for key, value in parsed.query.items():
        if key not in LIBPQ_QUERY:
            raise BackupError(f"WERKPLAATS_DATABASE_URL: {key}= is not understood by pg_dump")
        raw = value if isinstance(value, str) else value[-1]
        env[LIBPQ_QUERY[key]] = {"true": "require", "false": "disable"}.get(raw, raw)
    parts = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
    }
    env.update({k: v for k, v in parts.items() if v})
    return env


async def backup(url: str, dest: Path) -> None:
    """Write a backup of the whole database to `dest` (replaced only once complete)."""
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    try:
        if backend(url) == "sqlite":
            await asyncio.to_thread(_sqlite_backup, sqlite_path(url), part)
        else:
            await _run(
                dest,
                ["pg_dump", "--format=custom", "--no-password", "--file", str(part)],
                libpq_env(url),
            )
        part.replace(dest)
    except OSError as exc:
        raise BackupError(f"{dest}: cannot write: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise BackupError(f"{dest}: cannot write: {exc}") from None
    finally:
        part.unlink(missing_ok=True)


def _sqlite_backup(source: Path, part: Path) -> None:
    src = sqlite3.connect(source, timeout=SQLITE_BUSY_SECONDS)
    try:
        dst = sqlite3.connect(part)
        try:
            # pages=-1: in one step, so one snapshot; done in steps, every write by another
            # connection in between would start the copy over.
            src.backup(dst, pages=-1)
            # The copy keeps the source's WAL mode; a backup is better one file on its own.
            dst.execute("PRAGMA journal_mode=DELETE")
            _check_sqlite(dst, part)
        finally:
            dst.close()
    finally:
        src.close()


def _check_sqlite(conn: sqlite3.Connection, name: Path) -> None:
    result = conn.execute("PRAGMA quick_check").fetchone()
    if result is None or result[0] != "ok":
        raise BackupError(f"{name}: the SQLite database is damaged: {result}")


async def _run(file: Path, command: list[str], env: dict[str, str]) -> None:
    """Run a PostgreSQL client program; its own message names what failed."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise BackupError(
            f"{file}: {command[0]} is not installed (Debian: apt-get install postgresql-client)"
        ) from None
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise BackupError(f"{file}: {command[0]} failed: {err.decode(errors='replace').strip()}")


def file_format(path: Path) -> str:
    """`sqlite` or `postgresql` by the file's first bytes; a BackupError for anything else."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except OSError as exc:
        raise BackupError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(
        f"{path}: not a backup of werkplaats (neither {' nor '.join(FORMATS.values())})"
    )


async def holdings(url: str) -> dict[str, int]:
    """How many users, rooms and messages the database holds (absent tables count none)."""
    if backend(url) == "sqlite" and not sqlite_path(url).exists():
        return {}
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            counts: dict[str, int] = {}
            for table in DATA_TABLES:
                if table in names:
                    # The names are the constants above, never input.
                    result = await conn.execute(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                    counts[table] = int(result.scalar_one())
            return counts
    finally:
        await engine.dispose()


async def restore(url: str, source: Path, *, force: bool = False) -> None:
    """Restore `source` into the configured database, which must be empty unless `force`."""
    kind = backend(url)
    found = file_format(source)
    if found != kind:
        raise BackupError(
            f"{source}: {FORMATS[found]}, but WERKPLAATS_DATABASE_URL is {kind}: "
            f"a backup restores only into the kind of database it came from"
        )
    if kind == "sqlite":
        await asyncio.to_thread(_sqlite_check_backup, source)
    held = {t: n for t, n in (await holdings(url)).items() if n}
    if held and not force:
        what = ", ".join(f"{n} {t}" for t, n in held.items())
        raise BackupError(
            f"{source}: not restored: the database already holds data ({what}); restore into "
            "an empty database, or give --force to replace everything in it"
        )
    if kind == "sqlite":
        await asyncio.to_thread(_sqlite_restore, source, sqlite_path(url))
    else:
        await _empty_postgres(url)
        await _run(
            source,
            [
                "pg_restore",
                "--no-password",
                "--exit-on-error",
                "--single-transaction",
                # Objects belong to whoever restores, as the server connects: the source's
                # roles need not exist here.
                "--no-owner",
                "--no-acl",
                "--dbname",
                make_url(url).database or "",
                str(source),
            ],
            libpq_env(url),
        )


def _sqlite_check_backup(source: Path) -> None:
    try:
        conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{source}: cannot open: {exc}") from None
    try:
        _check_sqlite(conn, source)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source}: the SQLite database is damaged: {exc}") from None
    finally:
        conn.close()
    if "alembic_version" not in tables:
        raise BackupError(f"{source}: an SQLite database, but not one of werkplaats")


def _sqlite_restore(source: Path, target: Path) -> None:
    """Copy the backup over the target through SQLite itself: its WAL and locks stay right."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        try:
            dst = sqlite3.connect(target, timeout=SQLITE_BUSY_SECONDS)
        except sqlite3.Error as exc:
            raise BackupError(f"{target}: cannot open: {exc}") from None
        try:
            src.backup(dst, pages=-1)
            _check_sqlite(dst, target)
        finally:
            dst.close()
    finally:
        src.close()


async def _empty_postgres(url: str) -> None:
    """Drop what a migration (or a forced restore's old data) left, so pg_restore starts clean."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            if tables:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


# How far `restore` moves every room's seq on (`--seq-margin`): more than the events a room
# can have gained between the backup and the loss, so no seq handed out then is used again.
SEQ_MARGIN = 100_000


async def advance_seqs(url: str, margin: int) -> int:
    """After a restore: every room's next seq `margin` past its restored `last_seq`, and a
    `restored` event at the new last_seq saying where the room's history stops (`after`).

    Clients may have seen seqs after the backup (events acked before the loss); those
    numbers are never used again, and a client whose `since` lies among them is told
    (`subscribed` with `reset`, and the `restored` event). Returns the rooms moved."""
    if margin <= 0:
        return 0
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            rooms = (await session.execute(select(Room.id, Room.last_seq))).all()
            now = utcnow()
            for room_id, last in rooms:
                session.add(
                    Event(
                        room_id=room_id,
                        seq=last + margin,
                        type="restored",
                        message_id=None,
                        actor_id=None,
                        data={"after": last},
                        created_at=now,
                    )
                )
            await session.execute(update(Room).values(last_seq=Room.last_seq + margin))
        return len(rooms)
    finally:
        await engine.dispose()

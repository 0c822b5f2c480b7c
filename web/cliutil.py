"""What the console commands share: the database for one run, the operator, errors, output."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from persistence import wallclock
from persistence.archive import ArchiveError
from persistence.db import Database
from persistence.migrate import migrate
from persistence.moderation import Source
from rooms.errors import DomainError
from web.actions.publish import Published, publish
from web.settings import Settings

EXIT_USAGE = 2

Job = Callable[[Database], Awaitable[int]]


def fail(message: str) -> int:
    """Print the refusal on stderr; the exit status of a command that was refused."""
    print(f"werkplaats: {message}", file=sys.stderr)
    return EXIT_USAGE


async def with_db(settings: Settings, job: Job) -> int:
    """Run `job` on a migrated database, disposed of afterwards."""
    # No statement deadline here: a migration or an import may rightly take long, and an
    # operator is watching; connecting still gives up in time.
    db = Database(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        command_timeout=None,
    )
    try:
        await migrate(db.engine)
        # A command decides on the database's clock too (reminders, digests, expiries).
        wallclock.set_step(settings.clock_offset_seconds)
        await wallclock.read_database(db)
        return await job(db)
    finally:
        await db.dispose()


def run_refusable(settings: Settings, job: Job) -> int:
    """Run `job` (see `with_db`); a refusal by the rules or the archive exits with a message."""

    async def guarded(db: Database) -> int:
        try:
            return await job(db)
        except (ArchiveError, DomainError) as exc:
            return fail(str(exc))

    return asyncio.run(with_db(settings, guarded))


def operator() -> Source:
    """Who runs a command, as the audit log records it: the OS account on this host."""
    import getpass
    import socket

    return Source(f"cli:{getpass.getuser()}", f"cli@{socket.gethostname()}")


@contextmanager
def output(path: str | None) -> Iterator[IO[str]]:
    """Stdout, or a file that appears only complete: written aside, renamed at the end."""
    if path is None:
        yield sys.stdout
        return
    part = Path(f"{path}.part")
    try:
        out = part.open("w", encoding="utf-8")
    except OSError as exc:
        raise ArchiveError(f"--output {path}: cannot write: {exc.strerror}") from None
    try:
        with out:
            yield out
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


async def notify_servers(settings: Settings, db: Database, published: Published) -> None:
    """Tell the running servers through the shared broker (Redis); without one there is none.

    The change is committed already: when the broker fails, the servers still refuse the
    user at the next subscribe or request (without Redis: within a second), so this only
    warns.
    """
    if not settings.uses_redis or not published:
        return
    from chat.realtime import Realtime
    from web.app import chat_config

    realtime = Realtime(chat_config(settings), db)
    try:
        await realtime.start()
        try:
            await publish(realtime, published)
        finally:
            await realtime.stop()
    except Exception as exc:
        print(f"werkplaats: warning: open connections not told: {exc!r}", file=sys.stderr)

"""Engines and transactions. Callers own the transaction: `async with db.write() as s: ...`."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, ParamSpec, TypeVar, cast

import asyncpg
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolProxiedConnection

from persistence.lane import Lane

# Every engine is made with `hide_parameters=True`: a database error's text (logged with
# `%r`) would otherwise hold the statement's parameters, message bodies among them.
SQLITE_BUSY_TIMEOUT_MS = 30_000  # writers in other processes queue on the file lock this long
# PostgreSQL connections kept between uses (no checkout, no pre-ping): for the send path
# (batches, and apart from them lone sends), and, in autocommit, for connection set-up's
# reads (`persistence.handshake`).
HELD_CONNECTIONS = 4
HELD_LONE = 2
HELD_READERS = 8

log = logging.getLogger("werkplaats.db")

T = TypeVar("T")
P = ParamSpec("P")


def _sqlite_setup(engine: Engine, begin: str) -> None:
    """Take transaction control from pysqlite so BEGIN is ours (IMMEDIATE for writers).

    A deferred transaction that reads and then writes fails with SQLITE_BUSY at once when
    another process wrote in between; BEGIN IMMEDIATE takes the write lock up front and
    waits politely (busy_timeout) instead.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: in WAL mode every commit syncs the log, so an acked message survives a power
        # loss too (NORMAL syncs only at checkpoints: the last commits could roll back, and
        # their seqs be reused for other messages that clients would then never fetch).
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


class Database:
    """The engines of one database: a writer and a reader (the same one except on SQLite)."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        connect_timeout: float = 5.0,
        command_timeout: float | None = 30.0,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_async_engine(url, echo=echo, hide_parameters=True)
            self.read_engine = create_async_engine(url, echo=echo, hide_parameters=True)
            _sqlite_setup(self.engine.sync_engine, "BEGIN IMMEDIATE")
            _sqlite_setup(self.read_engine.sync_engine, "BEGIN")
            # Transactions run as one call in a thread of their own (`run_in_writer`): one
            # hand-off per transaction instead of about four per statement with aiosqlite.
            self.thread_engine: Engine | None = create_engine(
                make_url(url).set(drivername="sqlite+pysqlite"), echo=echo, hide_parameters=True
            )
            _sqlite_setup(self.thread_engine, "BEGIN IMMEDIATE")
            self._thread: Lane | None = Lane("sqlite-writer")
            # The writer thread's one connection, checked out of its engine on first use and
            # kept (touched only in that thread).
            self._kept: PoolProxiedConnection | None = None
        else:
            self.engine = create_async_engine(
                url,
                echo=echo,
                pool_size=10,
                max_overflow=20,
                pool_pre_ping=True,
                hide_parameters=True,
                # A black-holed network fails no call by itself: without these a connect
                # or a statement (the pre-ping too) waits for as long as TCP does, minutes.
                connect_args={
                    "timeout": connect_timeout,
                    "command_timeout": command_timeout,
                    # Compiling a plan to machine code cost 80 ms for a batch of 64 room
                    # lists (a generic plan's estimate passed `jit_above_cost`): for reads
                    # of milliseconds it is never worth it.
                    "server_settings": {"jit": "off"},
                },
            )
            self.read_engine = self.engine
            self.thread_engine = None
            self._thread = None
            self._kept = None
        self._held: list[AsyncConnection] = []
        self._held_lone: list[AsyncConnection] = []
        self._held_readers: list[AsyncConnection] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # What other modules keep for this database (readers, caches, locks), by kind.
        self._parts: dict[Callable[..., object], object] = {}

    def part(self, kind: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """This database's one `kind(*args)`, made on first use and kept as long as it."""
        found = self._parts.get(kind)
        if found is None:
            found = self._parts[kind] = kind(*args, **kwargs)
        return cast(T, found)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that may write; committed on success, rolled back on error."""
        async with self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (never takes SQLite's write lock)."""
        async with self._reader() as session, session.begin():
            yield session

    async def run_in_writer(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite: `fn(driver)` in one write transaction, run whole in the writer thread on
        its kept sqlite3 connection: BEGIN IMMEDIATE, `fn`, COMMIT (ROLLBACK if it raised).

        The caller serialises this process's writers (`chat.store`); other processes queue
        on the file lock (BEGIN IMMEDIATE, busy_timeout). No SQLAlchemy between: a pool
        checkout, its events and the driver-level BEGIN cost more than the send's statements.
        """
        thread = self._thread
        assert thread is not None, "SQLite only"
        return await thread.run(lambda: self._transaction(fn))

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """In the writer thread: see `run_in_writer`."""
        if self._kept is None:
            assert self.thread_engine is not None
            self._kept = self.thread_engine.raw_connection()
        driver: sqlite3.Connection = self._kept.driver_connection  # type: ignore[assignment]
        driver.execute("BEGIN IMMEDIATE")
        try:
            result = fn(driver)
            driver.commit()
        except BaseException:
            try:
                driver.rollback()
            except Exception:
                # A connection that cannot even roll back is not used again.
                self._kept.invalidate()
                self._kept = None
            raise
        return result

    def _release_kept(self) -> None:
        if self._kept is not None:
            self._kept.close()
            self._kept = None

    @asynccontextmanager
    async def held(
        self, *, autocommit: bool = False, lone: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        """A connection kept between uses (PostgreSQL): for writes, or in autocommit for
        reads that need no shared snapshot.

        Write connections plan every statement anew (`force_custom_plan`): a generic plan
        of the send statements, fixed after five one-room sends, is ruinous for a batch of
        many rooms. `lone`: a connection kept apart for batches of one send, which keeps
        PostgreSQL's default, so that its statements settle on a generic plan and a lone
        send pays no planning (docs/performance.md, "Planning a send").

        Taken without the pool's checkout and pre-ping; a connection that raised is
        invalidated (never reused), so one the server dropped costs its user one error,
        which `is_disconnect` recognises so that the caller may retry on a fresh one.
        """
        if autocommit:
            kept, keep = self._held_readers, HELD_READERS
        elif lone:
            kept, keep = self._held_lone, HELD_LONE
        else:
            kept, keep = self._held, HELD_CONNECTIONS
        if kept:
            conn = kept.pop()
        else:
            conn = await self.engine.connect()
            if autocommit:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            elif not lone:
                await conn.exec_driver_sql("SET plan_cache_mode = force_custom_plan")
                await conn.commit()
        try:
            yield conn
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        # In autocommit SQLAlchemy's own transaction is only a marker: nothing is left open.
        if (conn.in_transaction() and not autocommit) or len(kept) >= keep:
            await conn.close()
        else:
            kept.append(conn)

    @staticmethod
    def is_disconnect(exc: BaseException) -> bool:
        """Did `exc` come from a connection the database dropped (e.g. a restart)?

        A backend terminated while the connection sat idle can surface on the next statement
        as asyncpg's internal client error ("another operation is in progress"), its
        protocol unusable from then on: a dropped connection too.
        """
        if isinstance(exc, DBAPIError):
            return bool(exc.connection_invalidated) or isinstance(exc, InterfaceError)
        return isinstance(
            exc,
            asyncpg.PostgresConnectionError
            | asyncpg.InterfaceError
            | asyncpg.exceptions.OperatorInterventionError
            | asyncpg.exceptions.InternalClientError
            | OSError,
        )

    def on_dispose(self, close: Callable[[], Awaitable[None]]) -> None:
        """Run `close` first when the database is disposed of (what others keep open on it)."""
        self._closers.append(close)

    async def dispose(self) -> None:
        closers, self._closers = self._closers, []
        for close in closers:
            await close()
        held = self._held + self._held_lone + self._held_readers
        self._held, self._held_lone, self._held_readers = [], [], []
        for conn in held:
            await conn.close()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
        if self._thread is not None and self.thread_engine is not None:
            await self._thread.run(self._release_kept)
            await self._thread.run(self.thread_engine.dispose)
            self._thread.close()

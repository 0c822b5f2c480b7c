"""Prebuilt statements that skip SQLAlchemy's execution machinery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import asyncpg
from sqlalchemy import BindParameter, Connection, TupleType
from sqlalchemy.exc import DBAPIError

from persistence.db import Database


def _bind_processor(bind: BindParameter[Any], dialect: Any) -> Any:
    """The processor SQLAlchemy applies to this parameter's values, or None."""
    if bind.expanding or isinstance(bind.type, TupleType):
        # Expanded at execution (IN lists, tuples): a text built once cannot hold them.
        raise ValueError(f"Prepared: parameter {bind.key!r} is expanding; not supported")
    return bind.type.dialect_impl(dialect).bind_processor(dialect)


@dataclass(frozen=True, slots=True)
class _Form:
    """A statement compiled for one dialect: its text, its parameters in order with their
    bind processors, and a result processor per column (None where values pass as they are).
    """

    sql: str
    names: list[str]
    binds: list[Any]
    results: list[tuple[int, Any]]  # (column, processor) for the columns that have one
    asyncpg: bool  # run on the asyncpg connection itself when in autocommit
    processed: Any  # itemgetter of those columns
    nulls: Any  # what `processed` gives for a row where all of them are NULL


class Prepared:
    """A prebuilt statement run on the DB-API cursor: compiled once per dialect, its
    parameters and columns converted by SQLAlchemy's own processors for their types.

    SQLAlchemy's execution around a set-up statement (compiled-cache lookup, parameter
    construction, result objects, a `Row` per row) cost two to three times the statement
    itself on SQLite, and a herd runs six of them per client. On PostgreSQL in autocommit
    (the set-up reads) the statement runs on the asyncpg connection itself; otherwise the
    cursor is SQLAlchemy's asyncpg adapter, which keeps the connection's transaction state
    as SQLAlchemy's own execution would. Rows come back as tuples (asyncpg `Record`s on
    PostgreSQL: indexable and unpackable alike), or as `row(*values)` when a named tuple
    type is given, so that callers read columns by name.
    """

    __slots__ = ("_forms", "row", "statement")

    def __init__(self, statement: Any, row: Callable[..., Any] | None = None) -> None:
        self.statement = statement
        self.row = row
        self._forms: dict[type, _Form] = {}

    def _compile(self, dialect: Any) -> _Form:
        # Documented interface only: the compiled statement's parameter order and
        # BindParameters, the statement's selected columns, and each type's processors for
        # the dialect, as SQLAlchemy's own execution caches them (`TypeEngine.dialect_impl`).
        compiled: Any = self.statement.compile(dialect=dialect)
        names = list(compiled.positiontup or ())
        binds = [_bind_processor(compiled.binds[name], dialect) for name in names]
        selected = getattr(self.statement, "selected_columns", ())
        results = [
            (i, process)
            for i, column in enumerate(selected)
            if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))
            is not None
        ]
        columns = [i for i, _ in results]
        form = _Form(
            sql=str(compiled.string),
            names=names,
            binds=binds,
            results=results,
            asyncpg=dialect.driver == "asyncpg",
            processed=itemgetter(*columns) if columns else None,
            # itemgetter of one column gives the value, of several a tuple
            nulls=None if len(columns) == 1 else (None,) * len(columns),
        )
        self._forms[type(dialect)] = form
        return form

    def rows(self, conn: Connection, params: dict[str, Any] | None = None) -> list[Any]:
        found = self._rows(conn, params)
        row = self.row
        return found if row is None else [row(*values) for values in found]

    def _rows(self, conn: Connection, params: dict[str, Any] | None) -> list[Any]:
        form = self._forms.get(type(conn.dialect)) or self._compile(conn.dialect)
        given = params or {}
        args = [
            given[name] if bind is None else bind(given[name])
            for name, bind in zip(form.names, form.binds, strict=True)
        ]
        dbapi_connection: Any = conn.connection.dbapi_connection
        if form.asyncpg and dbapi_connection.autocommit:
            rows = self._asyncpg_rows(form, dbapi_connection, args)
        else:
            rows = self._cursor_rows(form, conn, dbapi_connection, args)
        results = form.results
        if not results:
            return list(rows)
        processed, nulls = form.processed, form.nulls
        out: list[Any] = []
        for row in rows:
            # Most processed columns are NULL in most rows (a ban's end, an edit time): one
            # C-level look at them instead of a generator per row.
            if processed(row) == nulls:
                out.append(row)
                continue
            values = list(row)
            for i, process in results:
                if values[i] is not None:
                    values[i] = process(values[i])
            out.append(tuple(values))
        return out

    @staticmethod
    def _cursor_rows(form: _Form, conn: Connection, dbapi_connection: Any, args: list[Any]) -> Any:
        cursor = dbapi_connection.cursor()
        dialect = conn.dialect
        try:
            cursor.execute(form.sql, args)  # DB-API: what execute returns is undefined
            return cursor.fetchall()
        except dialect.loaded_dbapi.Error as exc:
            # As SQLAlchemy's own execution raises it: callers tell a dropped connection
            # by `connection_invalidated` (`Database.is_disconnect`).
            raise DBAPIError.instance(
                form.sql,
                args,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=dialect.is_disconnect(exc, dbapi_connection, cursor),
                dialect=dialect,
            ) from exc
        finally:
            cursor.close()

    @staticmethod
    def _asyncpg_rows(form: _Form, dbapi_connection: Any, args: list[Any]) -> Any:
        """In autocommit, straight on the asyncpg connection (its own statement cache): the
        adapter's cursor keeps transaction state that autocommit does not need, and cost as
        much CPU as asyncpg itself (a room list: 100 µs more a call). Outside autocommit
        the adapter must see every statement, as it begins its transaction lazily."""
        try:
            return dbapi_connection.run_async(lambda driver: driver.fetch(form.sql, *args))
        except (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.InternalClientError,
            OSError,
        ) as exc:
            # Told apart as SQLAlchemy's dialect does, by the driver's state afterwards.
            dropped = Database.is_disconnect(exc) or dbapi_connection.driver_connection.is_closed()
            raise DBAPIError(form.sql, args, exc, connection_invalidated=dropped) from exc

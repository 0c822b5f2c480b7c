"""Prebuilt statements that skip SQLAlchemy's execution machinery on SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection


class Prepared:
    """A prebuilt statement that, on SQLite, runs on the driver's cursor: compiled once, its
    parameters and columns converted by SQLAlchemy's own processors for their types.

    SQLAlchemy's execution around a set-up statement (compiled-cache lookup, parameter
    construction, result objects, a `Row` per row) cost two to three times the statement
    itself, and a herd runs six of them per client in the one reader thread. Rows come
    back as plain tuples. On PostgreSQL it runs as usual (asyncpg converts types itself).
    """

    __slots__ = ("_binds", "_names", "_results", "_sql", "statement")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._sql: str | None = None
        self._names: list[str] = []
        self._binds: list[Any] = []
        self._results: list[Any] = []

    def _compile(self, dialect: Any) -> str:
        compiled: Any = self.statement.compile(dialect=dialect)
        self._names = list(compiled.positiontup or ())
        processors = compiled._bind_processors
        self._binds = [processors.get(name) for name in self._names]
        self._results = [
            column.type._cached_result_processor(dialect, None)
            for column in compiled._result_columns
        ]
        self._sql = str(compiled.string)
        return self._sql

    def rows(self, conn: Connection, params: dict[str, Any] | None = None) -> list[Any]:
        if conn.dialect.name != "sqlite":
            return list(conn.execute(self.statement, params or {}).all())
        sql = self._sql or self._compile(conn.dialect)
        given = params or {}
        args = [
            given[name] if bind is None else bind(given[name])
            for name, bind in zip(self._names, self._binds, strict=True)
        ]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, args)  # DB-API: what execute returns is undefined
            rows = cursor.fetchall()
        finally:
            cursor.close()
        results = self._results
        if not any(results):
            return list(rows)
        return [
            tuple(
                value if convert is None or value is None else convert(value)
                for value, convert in zip(row, results, strict=True)
            )
            for row in rows
        ]

"""A subscribe's backlog: a room's events in a seq range, read for speed.

Turning rows into frames costs more than reading them (docs/performance.md), so the
columns are read raw:
- timestamps as the database gives them. SQLite keeps the text SQLAlchemy wrote,
  `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, which is sliced into the wire form; PostgreSQL
  (asyncpg) gives a datetime, formatted by `iso`;
- the event's data as JSON text, parsed (orjson) only for the events whose frame uses it.
The events equal `persistence.events.events_page`'s (tests/persistence/test_backlog.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    select,
    text,
    type_coerce,
)

from persistence.authors import AuthorRow
from persistence.events import StoredEvent, iso, message_span, with_reactions
from persistence.models import Event, Message, User
from persistence.prepared import Prepared
from persistence.reactions import reaction_sets

_EVENTS = Prepared(
    select(
        Event.seq,
        Event.type,
        Event.message_id,
        cast(Event.data, Text),
        Message.id,
        Message.body,
        # Read as it is stored (made a bool below): SQLite's bool conversion per row, and
        # the row copy it needs, were a fifth of the read.
        type_coerce(Message.hidden, Integer),
        type_coerce(Message.created_at, String),
        type_coerce(Message.edited_at, String),
        Message.client_id,
        Message.reply_to,
        Message.topic,
        # Only the id: the authors are read once each (`_AUTHORS`), not once a row.
        Message.author_id,
    )
    .outerjoin(Message, Message.id == Event.message_id)
    .where(
        Event.room_id == bindparam("room_id"),
        Event.seq > bindparam("after"),
        Event.seq <= bindparam("upto"),
    )
    .order_by(Event.seq)
)


_AUTHOR_COLUMNS = (User.id, User.username, User.display_name, User.organisation, User.layer)
_AUTHORS_FROM = f"SELECT {', '.join(c.name for c in _AUTHOR_COLUMNS)} FROM users WHERE id"  # noqa: S608
# The ids as a JSON array on SQLite, an array on PostgreSQL.
_AUTHORS = {
    dialect: Prepared(text(f"{_AUTHORS_FROM} {ids}").columns(*_AUTHOR_COLUMNS))
    for dialect, ids in (
        ("sqlite", "IN (SELECT value FROM json_each(:ids))"),
        ("postgresql", "= ANY(CAST(:ids AS integer[]))"),
    )
}


def _authors(conn: Connection, ids: set[int]) -> dict[int, AuthorRow]:
    """The authors with these user ids, by id."""
    if not ids:
        return {}
    dialect = conn.dialect.name
    given = json.dumps(list(ids)) if dialect == "sqlite" else list(ids)
    return {row[0]: AuthorRow(*row[1:]) for row in _AUTHORS[dialect].rows(conn, {"ids": given})}


def _stamp(value: str | datetime | None) -> str | None:
    """A raw timestamp column as the wire's `2026-11-28T19:29:09.222Z`."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) >= 23 and value[10] == " " and value[19] == ".":
            return f"{value[:10]}T{value[11:23]}Z"
        value = datetime.fromisoformat(value)  # written some other way: parse it
    return iso(value)


def _data(raw: str | bytes | dict[str, Any] | None) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    parsed = orjson.loads(raw)
    return parsed if isinstance(parsed, dict) else {}


_NO_DATA: dict[str, Any] = {}


def _empty(raw: str | bytes | dict[str, Any] | None) -> bool:
    return raw is None or raw in ("{}", b"{}") or raw == {}


def _stored(row: Any, authors: dict[int, AuthorRow]) -> StoredEvent:
    (
        seq,
        type_,
        event_mid,
        data,
        mid,
        body,
        hidden,
        created,
        edited,
        client_id,
        reply_to,
        topic,
        author_id,
    ) = row
    if mid is None:
        return StoredEvent(seq, type_, event_mid, _data(data))
    return StoredEvent(
        seq,
        type_,
        mid,
        # only events of other types than `message` carry data that their frame shows
        # (and a message's own data only lists its files)
        _NO_DATA if type_ == "message" and _empty(data) else _data(data),
        True,
        body,
        bool(hidden),
        _stamp(created),
        _stamp(edited),
        client_id,
        reply_to,
        authors.get(author_id),
        topic,
    )


def read_events(conn: Connection, room_id: int, after: int, upto: int) -> list[StoredEvent]:
    """Events with after < seq ≤ upto, ascending, on a sync connection
    (`persistence.handshake.run`)."""
    rows = _EVENTS.rows(conn, {"room_id": room_id, "after": after, "upto": upto})
    authors = _authors(conn, {row[12] for row in rows if row[12] is not None})
    page = [_stored(row, authors) for row in rows]
    span = message_span(page)
    return page if span is None else with_reactions(page, reaction_sets(conn, room_id, *span))

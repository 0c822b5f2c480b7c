"""A subscribe's backlog: a room's events in a seq range, as wire frames, read for speed.

A catch-up of 1,000 events spent more time turning rows into frames than reading them
(py-spy, W5): parsing two timestamps per row into aware datetimes and formatting them
back, and parsing every event's JSON data. So the columns are read raw:
- timestamps as the database gives them. SQLite keeps the text SQLAlchemy wrote,
  `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, which is sliced into the wire form; PostgreSQL
  (asyncpg) gives a datetime, formatted by `iso`;
- the event's data as JSON text, parsed (orjson) only for the events whose frame uses it.
The frames are exactly `persistence.events.event_wire`'s (tests/persistence/test_backlog.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, String, Text, bindparam, cast, select, type_coerce

from persistence.events import iso
from persistence.models import Event, Message, User
from persistence.prepared import Prepared

_EVENTS = Prepared(
    select(
        Event.seq,
        Event.type,
        Event.message_id,
        cast(Event.data, Text),
        Message.id,
        Message.body,
        Message.hidden,
        type_coerce(Message.created_at, String),
        type_coerce(Message.edited_at, String),
        Message.client_id,
        Message.reply_to,
        User.username,
        User.display_name,
        User.organisation,
        User.layer,
    )
    .outerjoin(Message, Message.id == Event.message_id)
    .outerjoin(User, User.id == Message.author_id)
    .where(
        Event.room_id == bindparam("room_id"),
        Event.seq > bindparam("after"),
        Event.seq <= bindparam("upto"),
    )
    .order_by(Event.seq)
)


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


def _frame(slug: str, row: Any) -> dict[str, Any]:
    (seq, type_, event_mid, data, mid, body, hidden, created, edited, client_id, reply_to) = row[
        :11
    ]
    frame: dict[str, Any] = {"type": type_, "room": slug, "seq": seq}
    if mid is not None and type_ == "message":
        username = row[11]
        frame["message_id"] = mid
        frame["author"] = (
            {
                "username": username,
                "display_name": row[12],
                "organisation": row[13],
                "layer": row[14],
            }
            if username is not None
            else None
        )
        frame["body"] = None if hidden else body
        frame["created_at"] = _stamp(created)
        frame["client_id"] = client_id
        frame["reply_to"] = reply_to
        if edited is not None and not hidden:
            frame["edited_at"] = _stamp(edited)
        if hidden:
            frame["hidden"] = True
        return frame
    if mid is not None and type_ == "message_edited":
        frame["message_id"] = mid
        frame["body"] = None if hidden else body
        frame["edited_at"] = _data(data).get("edited_at")
        return frame
    if event_mid is not None:
        frame["message_id"] = event_mid
    frame.update(_data(data))
    return frame


def read_events(
    conn: Connection, room_id: int, slug: str, after: int, upto: int
) -> list[dict[str, Any]]:
    """Events with after < seq ≤ upto, ascending, as wire frames (as served now); on a sync
    connection (`persistence.handshake.run`)."""
    rows = _EVENTS.rows(conn, {"room_id": room_id, "after": after, "upto": upto})
    return [_frame(slug, row) for row in rows]

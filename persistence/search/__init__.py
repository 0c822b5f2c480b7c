"""Full-text search of the messages, in Dutch, on PostgreSQL and SQLite.

`query` parses what people type; `scope` is the permission filter and the other filters
as SQL; `postgres` and `sqlite` hold all full-text SQL of each backend; `engine` runs a
search; `index` keeps the index in step with the messages. See docs/search.md.
"""

from __future__ import annotations

from persistence.search.cursor import CursorError
from persistence.search.engine import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Hit,
    MeetingRef,
    Page,
    SearchRequest,
    Sort,
    last_meeting,
    search,
)
from persistence.search.index import on_message_changed, on_messages_removed, reindex
from persistence.search.query import Query, QueryError, parse, take_topic
from persistence.search.scope import Filters
from persistence.search.snippet import MARK_END, MARK_START

__all__ = [
    "DEFAULT_LIMIT",
    "MARK_END",
    "MARK_START",
    "MAX_LIMIT",
    "CursorError",
    "Filters",
    "Hit",
    "MeetingRef",
    "Page",
    "Query",
    "QueryError",
    "SearchRequest",
    "Sort",
    "last_meeting",
    "on_message_changed",
    "on_messages_removed",
    "parse",
    "reindex",
    "search",
    "take_topic",
]

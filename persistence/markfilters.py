"""Conditions on marks and theme tags, shared by the between-meetings reads and search.

Apart from `persistence.marks` so that search's filters need nothing that writes events
(`persistence.events` imports the search index hooks).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, select

from persistence.models import MessageMark, MessageTheme, Theme
from rooms.marks import ACTION_FINISHED, ACTION_PENDING, MarkKind


def open_marks() -> ColumnElement[bool]:
    """Open questions and action items still to do (decisions are never open)."""
    return (
        MessageMark.kind.in_([MarkKind.VRAAG.value, MarkKind.ACTIEPUNT.value])
        & MessageMark.answer_id.is_(None)
        & (MessageMark.action_status.is_(None) | MessageMark.action_status.in_(ACTION_PENDING))
    )


def finished_actions(since: datetime | None) -> ColumnElement[bool]:
    """Action items finished (gedaan, vervallen), since a moment when one is given."""
    done = (MessageMark.kind == MarkKind.ACTIEPUNT.value) & MessageMark.action_status.in_(
        ACTION_FINISHED
    )
    return done if since is None else done & (MessageMark.status_changed_at >= since)


def marked_message_ids(kind: MarkKind, open_only: bool = False) -> Select[int]:
    """A subquery of message ids with this mark: for search's `mark=` filter.

    Usage: `select(...).where(Message.id.in_(marked_message_ids(MarkKind.BESLUIT)))`.
    """
    query = select(MessageMark.message_id).where(MessageMark.kind == kind.value)
    if open_only:
        query = query.where(open_marks())
    return query


def tagged_message_ids(theme_slug: str) -> Select[int]:
    """A `SELECT` of the ids of messages tagged with this theme: for search's `theme=` filter."""
    return (
        select(MessageTheme.message_id)
        .join(Theme, Theme.id == MessageTheme.theme_id)
        .where(Theme.slug == theme_slug)
    )

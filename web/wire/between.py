"""The between-meetings reads as the API shows them: marks, agenda, catch-up, overview.

Storage hands over rows and dataclasses (`persistence.marks`, `.agenda`, `.catchup`,
`.overview`); these functions make the response bodies of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from persistence.agenda import Agenda
from persistence.catchup import CatchUp, RoomNews
from persistence.marks import MarkedItem
from persistence.models import Message, User, iso
from persistence.overview import Overview, QuestionLayers
from rooms.marks import MarkKind
from rooms.meetings import Since
from rooms.mentions import excerpt
from rooms.verslag import ReportNews, missed_notice
from web.wire import author_wire
from web.wire.meetings import meeting_wire


def marked_item_wire(item: MarkedItem) -> dict[str, Any]:
    """A marked message as the catch-up, the agenda and the overview list it."""
    mark, message = item.mark, item.message
    return {
        "message_id": message.id,
        "room": item.room.slug,
        "room_name": item.room.name,
        "seq": message.seq,
        "kind": mark.kind,
        "author": author_wire(item.author),
        "excerpt": excerpt(message.body),
        "created_at": iso(message.created_at),
        "marked_at": iso(mark.marked_at),
        "owner": item.owner.username if item.owner is not None else None,
        "due": mark.due.isoformat() if mark.due is not None else None,
        "answered": mark.answer_id is not None,
        "answer_id": mark.answer_id,
        "status": mark.action_status,
        "status_changed_at": iso(mark.status_changed_at),
    }


def _items(items: list[MarkedItem]) -> list[dict[str, Any]]:
    return [marked_item_wire(i) for i in items]


def agenda_wire(found: Agenda) -> dict[str, Any]:
    """What the meeting should discuss; the handlers add what the caller may do."""
    opened = found.open_items
    return {
        "meeting": meeting_wire(found.meeting, found.themes, found.theme_rooms),
        "previous_meeting": (
            meeting_wire(found.previous, found.themes, found.theme_rooms)
            if found.previous is not None
            else None
        ),
        "open_questions": _items([i for i in opened if i.mark.kind == MarkKind.VRAAG.value]),
        "action_items": _items([i for i in opened if i.mark.kind == MarkKind.ACTIEPUNT.value]),
        "decisions": _items(found.decisions),
        "completed_actions": _items(found.finished),
    }


def _mention_wire(message: Message, author: User) -> dict[str, Any]:
    return {
        "message_id": message.id,
        "seq": message.seq,
        "author": author_wire(author),
        "excerpt": excerpt(message.body),
        "created_at": iso(message.created_at),
    }


def _member_wire(user: User, joined_at: datetime) -> dict[str, Any]:
    return {**author_wire(user), "joined_at": iso(joined_at)}


def _room_news_wire(news: RoomNews) -> dict[str, Any]:
    room = news.summary.room
    return {
        "slug": room.slug,
        "name": room.name,
        "kind": room.kind,
        "from_seq": news.window.after,
        "last_seq": room.last_seq,
        "read_seq": news.summary.read_seq,
        "new_messages": news.new_messages,
        "topics": [
            {"name": t.name, "new_messages": t.new_messages, "first_seq": t.first_seq}
            for t in news.topics
        ],
        "mentions": [_mention_wire(m, a) for m, a in news.mentions],
        "open_questions": _items(news.open_questions),
        "action_items": _items(news.action_items),
        "decisions": _items(news.decisions),
        "new_members": [_member_wire(u, at) for u, at in news.new_members],
    }


def _news_wire(news: ReportNews) -> dict[str, Any]:
    return {
        "meeting": news.meeting_slug,
        "title": news.title,
        "date": iso(news.meeting_starts_at),
        "published_at": iso(news.published_at),
        "missed": news.missed,
        "notice": missed_notice(news.meeting_starts_at) if news.missed else None,
    }


TOTALLED = ("mentions", "open_questions", "action_items", "decisions", "new_members")


def catchup_wire(found: CatchUp) -> dict[str, Any]:
    """The catch-up page as JSON."""
    rooms = [_room_news_wire(r) for r in found.rooms]

    def meeting(m: Any) -> dict[str, Any] | None:
        return meeting_wire(m, found.themes, found.theme_rooms) if m is not None else None

    return {
        "since": found.since.value,
        # Published verslagen, those of meetings the member missed first.
        "reports": [_news_wire(n) for n in found.reports],
        "since_at": iso(found.start) if found.since is Since.LAST_MEETING else None,
        "previous_meeting": meeting(found.previous_meeting),
        "next_meeting": meeting(found.next_meeting),
        "rooms": rooms,
        "totals": {
            "new_messages": sum(r["new_messages"] for r in rooms),
            **{key: sum(len(r[key]) for r in rooms) for key in TOTALLED},
        },
        # "Mark all read up to here": the seqs the client sends back to POST /api/catchup/read.
        "read_up_to": {
            s.room.slug: s.room.last_seq for s in found.summaries if s.room.last_seq > s.read_seq
        },
    }


def _question_wire(q: QuestionLayers) -> dict[str, Any]:
    return {
        **marked_item_wire(q.item),
        "answered_layers": q.answered,
        "read_layers": q.read,
        "missing_layers": q.missing,
        "notice": q.notice,
    }


def overview_wire(found: Overview) -> dict[str, Any]:
    """Rows of areas, columns of themes, a cell per pair; and the questions by layer."""
    return {
        "themes": [{"slug": t.slug, "name": t.name} for t in found.themes],
        "areas": [
            {
                "slug": a.slug,
                "name": a.name,
                "room": found.room_of_area.get(a.id),
                "readable": a.id in found.readable_areas,
                "cells": [
                    {
                        "theme": t.slug,
                        "messages": found.cells[(a.id, t.id)].messages,
                        "recent": found.cells[(a.id, t.id)].recent,
                        "unread": found.cells[(a.id, t.id)].unread,
                    }
                    for t in found.themes
                ],
            }
            for a in found.areas
        ],
        "questions": [_question_wire(q) for q in found.questions],
    }

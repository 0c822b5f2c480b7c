"""The draft agenda of a meeting: open questions and action items, and recent decisions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.markfilters import finished_actions, open_marks
from persistence.marks import MarkedItem, marked_items
from persistence.meetings import all_meetings, ref, theme_rooms, theme_slugs
from persistence.models import Meeting, MessageMark, MessageTheme, Room
from persistence.rooms import readable_rooms
from rooms.marks import MarkKind
from rooms.meetings import meeting_before
from rooms.model import Actor


@dataclass(frozen=True, slots=True)
class Agenda:
    """A meeting's agenda; `themes` and `theme_rooms` name the meetings' links."""

    meeting: Meeting
    previous: Meeting | None
    themes: dict[int, str]
    theme_rooms: dict[int, str]
    open_items: list[MarkedItem]
    decisions: list[MarkedItem]
    finished: list[MarkedItem]


async def agenda(session: AsyncSession, actor: Actor, meeting: Meeting) -> Agenda:
    """What the meeting should discuss, from the rooms the actor may read only.

    An item belongs to the meeting when it was marked for it (the next meeting at the
    time), or sits in the meeting's own room or its theme's room, or is tagged with its
    theme. Decisions are those marked since the meeting before this one, and so are the
    action items finished (gedaan, vervallen) that the agenda lists as "afgerond".
    """
    readable = [s.room.id for s in await readable_rooms(session, actor)]
    meetings = await all_meetings(session)
    before = meeting_before([ref(m) for m in meetings], ref(meeting))
    linked = select(Room.id).where(
        or_(
            Room.meeting_id == meeting.id,
            (Room.kind == "theme") & (Room.theme_id == meeting.theme_id),
        )
    )
    tagged = select(MessageTheme.message_id).where(MessageTheme.theme_id == meeting.theme_id)
    scope = or_(
        MessageMark.meeting_id == meeting.id,
        MessageMark.room_id.in_(linked),
        MessageMark.message_id.in_(tagged),
    )
    open_items = await marked_items(session, readable, open_marks(), scope)
    decided = [MessageMark.kind == MarkKind.BESLUIT.value, scope]
    if before is not None:
        decided.append(MessageMark.marked_at >= before.starts_at)
    decisions = await marked_items(session, readable, *decided)
    since = before.starts_at if before is not None else None
    finished = await marked_items(session, readable, finished_actions(since), scope)
    themes, t_rooms = await theme_slugs(session), await theme_rooms(session)
    previous = next((m for m in meetings if before is not None and m.id == before.id), None)
    return Agenda(meeting, previous, themes, t_rooms, open_items, decisions, finished)

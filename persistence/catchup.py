""" "Sinds de vorige bijeenkomst": per readable room what happened since a moment.

The window of a room is a seq threshold: events with a higher seq are new. Since the last
meeting, the threshold is the last seq written before that meeting started; since the
last visit, it is the member's read marker. Everything is filtered by `readable_rooms`,
so nothing from a room the member may not read is ever counted or listed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.markfilters import open_marks
from persistence.marks import MarkedItem, marked_items
from persistence.meetings import all_meetings, ref, theme_rooms, theme_slugs
from persistence.models import Event, Meeting, Membership, Message, MessageMark, ReadMarker, User
from persistence.reports import report_news
from persistence.rooms import RoomSummary, readable_rooms
from rooms.conversations import mentions_reader
from rooms.marks import MarkKind
from rooms.meetings import Since, next_meeting, previous_meeting
from rooms.mentions import mentioned_usernames
from rooms.model import Actor
from rooms.verslag import ReportNews

MAX_MENTIONS_LISTED = 50


@dataclass(frozen=True, slots=True)
class Window:
    """What counts as new in one room: seq above `after`, joined at or after `since_at`."""

    after: int
    since_at: datetime | None


async def _seq_before(session: AsyncSession, room_ids: list[int], when: datetime) -> dict[int, int]:
    rows = await session.execute(
        select(Event.room_id, func.max(Event.seq))
        .where(Event.room_id.in_(room_ids), Event.created_at < when)
        .group_by(Event.room_id)
    )
    return {room_id: int(seq or 0) for room_id, seq in rows}


async def windows_for(
    session: AsyncSession,
    user_id: int,
    summaries: list[RoomSummary],
    since: Since,
    meeting_start: datetime | None,
) -> dict[int, Window]:
    """Room id → its window, for the member's choice of `since`."""
    ids = [s.room.id for s in summaries]
    if since is Since.LAST_VISIT:
        visited = dict(
            (
                await session.execute(
                    select(ReadMarker.room_id, ReadMarker.updated_at).where(
                        ReadMarker.user_id == user_id, ReadMarker.room_id.in_(ids)
                    )
                )
            ).all()
        )
        return {s.room.id: Window(s.read_seq, visited.get(s.room.id)) for s in summaries}
    if meeting_start is None:
        return {room_id: Window(0, None) for room_id in ids}
    before = await _seq_before(session, ids, meeting_start)
    return {room_id: Window(before.get(room_id, 0), meeting_start) for room_id in ids}


async def _new_messages(
    session: AsyncSession, summaries: list[RoomSummary], windows: dict[int, Window]
) -> list[tuple[Message, User]]:
    ranges = [
        and_(Message.room_id == s.room.id, Message.seq > windows[s.room.id].after)
        for s in summaries
        if s.room.last_seq > windows[s.room.id].after
    ]
    if not ranges:
        return []
    rows = await session.execute(
        select(Message, User)
        .join(User, User.id == Message.author_id)
        .where(or_(*ranges), Message.hidden.is_(False))
        .order_by(Message.room_id, Message.seq)
    )
    return list(rows)


async def _new_members(
    session: AsyncSession, room_ids: list[int], windows: dict[int, Window], me: int
) -> dict[int, list[tuple[User, datetime]]]:
    """Who joined each room in its window, and when: other people, not the member reading it."""
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.room_id.in_(room_ids), Membership.user_id != me)
        .order_by(Membership.joined_at, User.username)
    )
    found: dict[int, list[tuple[User, datetime]]] = defaultdict(list)
    for membership, user in rows:
        since_at = windows[membership.room_id].since_at
        if since_at is None or membership.joined_at >= since_at:
            found[membership.room_id].append((user, membership.joined_at))
    return found


def _by_room(items: list[MarkedItem]) -> dict[int, list[MarkedItem]]:
    grouped: dict[int, list[MarkedItem]] = defaultdict(list)
    for item in items:
        grouped[item.room.id].append(item)
    return grouped


@dataclass(frozen=True, slots=True)
class TopicNews:
    name: str
    new_messages: int
    first_seq: int


@dataclass(frozen=True, slots=True)
class RoomNews:
    """What is new in one readable room."""

    summary: RoomSummary
    window: Window
    new_messages: int
    topics: list[TopicNews]
    mentions: list[tuple[Message, User]]
    open_questions: list[MarkedItem]
    action_items: list[MarkedItem]
    decisions: list[MarkedItem]
    new_members: list[tuple[User, datetime]]

    @property
    def reported(self) -> bool:
        """A room is listed when something in it is new."""
        return bool(
            self.new_messages
            or self.mentions
            or self.open_questions
            or self.action_items
            or self.decisions
            or self.new_members
        )


@dataclass(frozen=True, slots=True)
class CatchUp:
    """The catch-up: the rooms with news, the verslagen, the meetings around now."""

    since: Since
    start: datetime | None
    reports: list[ReportNews]
    previous_meeting: Meeting | None
    next_meeting: Meeting | None
    themes: dict[int, str]
    theme_rooms: dict[int, str]
    rooms: list[RoomNews]
    summaries: list[RoomSummary]


async def catchup(session: AsyncSession, actor: Actor, since: Since, now: datetime) -> CatchUp:
    """Per readable room what is new since the chosen moment."""
    summaries = await readable_rooms(session, actor)
    me = await session.get(User, actor.user_id)
    layer = "" if me is None else me.layer
    # The area rooms whose team the actor is in: `@gebied` there mentions them.
    area_teams = {s.room.id for s in summaries if s.room.kind == "area"} & actor.area_room_ids
    meetings = await all_meetings(session)
    refs = [ref(m) for m in meetings]
    held, ahead = previous_meeting(refs, now), next_meeting(refs, now)
    themes, t_rooms = await theme_slugs(session), await theme_rooms(session)
    by_id = {m.id: m for m in meetings}
    start = held.starts_at if held is not None else None
    windows = await windows_for(session, actor.user_id, summaries, since, start)
    ids = [s.room.id for s in summaries]
    new = await _new_messages(session, summaries, windows)
    open_items = _by_room(await marked_items(session, ids, open_marks()))
    decisions = _by_room(
        await marked_items(session, ids, MessageMark.kind == MarkKind.BESLUIT.value)
    )
    members = await _new_members(session, ids, windows, actor.user_id)

    counts: dict[int, int] = defaultdict(int)
    # What is new grouped by topic: per room, topic -> [new messages, first seq].
    topics: dict[int, dict[str, list[int]]] = defaultdict(dict)
    mentioned: dict[int, list[tuple[Message, User]]] = defaultdict(list)
    for message, author in new:
        if message.author_id == actor.user_id:
            continue
        counts[message.room_id] += 1
        if message.topic is not None:
            topics[message.room_id].setdefault(message.topic, [0, message.seq])[0] += 1
        team = message.room_id in area_teams
        if mentions_reader(mentioned_usernames(message.body), actor.username, layer, team):
            mentioned[message.room_id].append((message, author))

    rooms: list[RoomNews] = []
    for s in summaries:
        rid, window = s.room.id, windows[s.room.id]
        news = RoomNews(
            s,
            window,
            counts[rid],
            [TopicNews(name, n, first) for name, (n, first) in topics[rid].items()],
            mentioned[rid][-MAX_MENTIONS_LISTED:],
            [i for i in open_items[rid] if i.mark.kind == MarkKind.VRAAG.value],
            [i for i in open_items[rid] if i.mark.kind == MarkKind.ACTIEPUNT.value],
            [i for i in decisions[rid] if i.mark.event_seq > window.after],
            members[rid],
        )
        if news.reported:
            rooms.append(news)
    # Published verslagen, those of meetings the member missed first.
    reports = await report_news(session, actor.user_id, start)

    def meeting(found: Any) -> Meeting | None:
        return by_id[found.id] if found is not None else None

    return CatchUp(
        since, start, reports, meeting(held), meeting(ahead), themes, t_rooms, rooms, summaries
    )

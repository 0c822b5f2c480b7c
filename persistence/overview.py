"""The area × theme overview, and per question which government layers reacted.

A cell (area, theme) counts the messages in the area's room tagged with the theme, and
the messages in the theme's room written by members of the area. Only rooms the member
may read are counted: an area the member may not read still has a row, fed by the
(open) theme rooms alone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from persistence.marks import MarkedItem, marked_items
from persistence.models import (
    Area,
    Membership,
    Message,
    MessageMark,
    MessageTheme,
    ReadMarker,
    Room,
    Theme,
    User,
)
from persistence.rooms import readable_rooms
from rooms.marks import MarkKind, missing_layers, missing_notice
from rooms.model import Actor

MAX_QUESTIONS = 100
Cell = tuple[int, int]


class Counter:
    """Activity, recent activity and unread of one cell, counting each message once."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.messages = self.recent = self.unread = 0

    def add(self, message_id: int, recent: bool, unread: bool) -> None:
        if message_id in self.seen:
            return
        self.seen.add(message_id)
        self.messages += 1
        self.recent += recent
        self.unread += unread


async def _cells(
    session: AsyncSession, actor: Actor, read: dict[int, int], since: datetime | None
) -> dict[Cell, Counter]:
    cells: dict[Cell, Counter] = defaultdict(Counter)
    area_room = aliased(Room)
    tagged = await session.execute(
        select(area_room.area_id, MessageTheme.theme_id, Message)
        .join(Message, Message.id == MessageTheme.message_id)
        .join(area_room, area_room.id == MessageTheme.room_id)
        .where(
            area_room.kind == "area",
            area_room.id.in_(list(read)),
            Message.hidden.is_(False),
        )
    )
    theme_room = aliased(Room)
    member_room = aliased(Room)
    by_members = await session.execute(
        select(member_room.area_id, theme_room.theme_id, Message)
        .join(theme_room, theme_room.id == Message.room_id)
        .join(Membership, Membership.user_id == Message.author_id)
        .join(member_room, and_(member_room.id == Membership.room_id, member_room.kind == "area"))
        .where(
            theme_room.kind == "theme",
            theme_room.id.in_(list(read)),
            Message.hidden.is_(False),
        )
    )
    for area_id, theme_id, message in [*tagged, *by_members]:
        if area_id is None or theme_id is None:
            continue
        cells[(area_id, theme_id)].add(
            message.id,
            since is None or message.created_at >= since,
            message.author_id != actor.user_id and message.seq > read[message.room_id],
        )
    return cells


@dataclass(frozen=True, slots=True)
class QuestionLayers:
    """A question, the layers that answered it and read it, and those still missing."""

    item: MarkedItem
    answered: list[str]
    read: list[str]
    missing: list[str]
    notice: str


async def _layers(session: AsyncSession, read: dict[int, int]) -> list[QuestionLayers]:
    """Per question in a readable room: the layers that answered and that read it."""
    items = await marked_items(
        session, list(read), MessageMark.kind == MarkKind.VRAAG.value, limit=MAX_QUESTIONS
    )
    if not items:
        return []
    ids = [i.message.id for i in items]
    replies = await session.execute(
        select(Message.reply_to, User.layer, User.id)
        .join(User, User.id == Message.author_id)
        .where(Message.reply_to.in_(ids), Message.hidden.is_(False))
    )
    reply_rows = list(replies)
    answers = [i.mark.answer_id for i in items if i.mark.answer_id is not None]
    answer_layers: dict[int, str] = {}
    if answers:
        rows = await session.execute(
            select(Message.id, User.layer)
            .join(User, User.id == Message.author_id)
            .where(Message.id.in_(answers), Message.hidden.is_(False))
        )
        answer_layers = dict(rows.all())
    markers = await session.execute(
        select(ReadMarker.room_id, ReadMarker.seq, ReadMarker.user_id, User.layer)
        .join(User, User.id == ReadMarker.user_id)
        .where(ReadMarker.room_id.in_({i.room.id for i in items}))
    )
    marker_rows = list(markers)
    result = []
    for item in reversed(items):
        # Replies by the asker are no answer from their layer.
        layers = {
            layer
            for question_id, layer, user_id in reply_rows
            if question_id == item.message.id and user_id != item.author.id
        }
        if item.mark.answer_id in answer_layers:
            layers.add(answer_layers[item.mark.answer_id])
        readers = {
            layer
            for room_id, seq, user_id, layer in marker_rows
            if room_id == item.room.id and seq >= item.message.seq and user_id != item.author.id
        }
        missing = missing_layers(layers)
        result.append(
            QuestionLayers(item, sorted(layers), sorted(readers), missing, missing_notice(missing))
        )
    return result


@dataclass(frozen=True, slots=True)
class Overview:
    """Areas by slug, themes by slug, a cell per pair; `room_of_area` names area rooms."""

    themes: list[Theme]
    areas: list[Area]
    room_of_area: dict[int | None, str]
    readable_areas: set[int | None]
    cells: dict[Cell, Counter]
    questions: list[QuestionLayers]


async def overview(session: AsyncSession, actor: Actor, since: datetime | None) -> Overview:
    """Rows of areas, columns of themes, a cell per pair; and the questions by layer."""
    summaries = await readable_rooms(session, actor)
    read = {s.room.id: s.read_seq for s in summaries}
    readable_areas = {s.room.area_id for s in summaries if s.room.kind == "area"}
    areas = list((await session.execute(select(Area).order_by(Area.slug))).scalars())
    themes = list((await session.execute(select(Theme).order_by(Theme.slug))).scalars())
    room_of_area = dict(
        (await session.execute(select(Room.area_id, Room.slug).where(Room.kind == "area"))).all()
    )
    cells = await _cells(session, actor, read, since)
    questions = await _layers(session, read)
    return Overview(themes, areas, room_of_area, readable_areas, cells, questions)

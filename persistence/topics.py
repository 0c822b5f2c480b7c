"""A room's topics: listed from its messages, renamed or merged by a moderator.

A rename changes the topic of every message that had the old name and records the old
name as an alias, so that search still finds the messages by it (`named`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Message, TopicAlias, utcnow

MAX_TOPICS = 200


@dataclass(frozen=True, slots=True)
class TopicCount:
    name: str
    count: int
    last_seq: int


async def room_topics(session: AsyncSession, room_id: int) -> list[TopicCount]:
    """The room's topics with their visible messages, the newest (highest seq) first."""
    last = func.max(Message.seq)
    rows = await session.execute(
        select(Message.topic, func.count(), last)
        .where(Message.room_id == room_id, Message.topic.is_not(None), Message.hidden.is_(False))
        .group_by(Message.topic)
        .order_by(last.desc())
        .limit(MAX_TOPICS)
    )
    return [TopicCount(str(name), int(n), int(seq)) for name, n, seq in rows.all()]


def named(topic: str) -> ColumnElement[bool]:
    """Messages whose topic is `topic` now, or was before a rename (search's `topic:`)."""
    renamed = exists().where(
        TopicAlias.room_id == Message.room_id,
        TopicAlias.old_name == topic,
        TopicAlias.new_name == Message.topic,
    )
    return or_(Message.topic == topic, renamed)


async def rename_topic(session: AsyncSession, room_id: int, old: str, new: str) -> int:
    """Give the messages of topic `old` the topic `new` (a merge when `new` exists); the
    number of messages changed. Earlier names of `old` now lead to `new` as well."""
    changed = await session.execute(
        update(Message)
        .where(Message.room_id == room_id, Message.topic == old)
        .values(topic=new)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(TopicAlias)
        .where(TopicAlias.room_id == room_id, TopicAlias.new_name == old)
        .values(new_name=new)
        .execution_options(synchronize_session=False)
    )
    session.add(TopicAlias(room_id=room_id, old_name=old, new_name=new, at=utcnow()))
    await session.flush()
    return int(getattr(changed, "rowcount", 0) or 0)

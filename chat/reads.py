"""What the real-time side reads from the database, one read transaction per call.

Every function checks access itself, inside its transaction, so a ban or a lock that was
committed before is always honoured (the contract's "access checked on every frame").
The writes (`send`, `edit`, …) are in `chat.store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import accounts, handshake
from persistence.backlog import read_events
from persistence.db import Database
from persistence.events import events_page
from persistence.handshake import RoomAccess
from persistence.models import Room, utcnow
from persistence.models import Session as SessionRow
from persistence.rooms import ban_of, room_by_slug, room_ref
from rooms.access import check_read, may_read
from rooms.errors import NotFound
from rooms.model import SLUG_RE, Actor


async def room_or_404(session: AsyncSession, slug: str) -> Room:
    room = await room_by_slug(session, slug) if SLUG_RE.fullmatch(slug) else None
    if room is None:
        raise NotFound(f"no room {slug!r}")
    return room


async def readable_room(session: AsyncSession, actor: Actor, slug: str) -> Room:
    room = await room_or_404(session, slug)
    check_read(actor, room_ref(room), await ban_of(session, room.id, actor.user_id), utcnow())
    return room


async def hello_rooms(db: Database, actor: Actor) -> list[dict[str, Any]]:
    """The rooms of `hello`: the same list as GET /api/rooms."""
    return await handshake.run(db, handshake.read_room_list, actor, utcnow())


async def fresh_actor(db: Database, user_id: int) -> Actor | None:
    return await handshake.run(db, handshake.read_actor, user_id)


async def session_alive(db: Database, token_hash: str) -> bool:
    async with db.read() as session:
        return await accounts.live_session(session, token_hash) is not None


async def live_tokens(db: Database, token_hashes: list[str]) -> set[str]:
    """Which of these session token hashes are still valid (unexpired, unrevoked)."""
    async with db.read() as session:
        rows = await session.execute(
            select(SessionRow.token_hash).where(
                SessionRow.token_hash.in_(token_hashes),
                SessionRow.revoked_at.is_(None),
                SessionRow.expires_at > utcnow(),
            )
        )
        return set(rows.scalars())


def _readable_access(conn: Connection, actor: Actor, slug: str) -> RoomAccess:
    """`readable_room` in one statement: the room's access facts, or Forbidden or NotFound."""
    found = (
        handshake.read_room_access(conn, slug, actor.user_id) if SLUG_RE.fullmatch(slug) else None
    )
    if found is None:
        raise NotFound(f"no room {slug!r}")
    check_read(actor, found.ref, found.ban, utcnow())
    return found


async def check_readable(db: Database, actor: Actor, slug: str) -> int:
    """The room's id if the actor may read it now; else Forbidden or NotFound."""
    return (await handshake.run(db, _readable_access, actor, slug)).ref.id


async def may_read_now(db: Database, actor: Actor, slug: str) -> bool:
    found = await handshake.run(db, handshake.read_room_access, slug, actor.user_id)
    return found is not None and may_read(actor, found.ref, found.ban, utcnow())


@dataclass(frozen=True, slots=True)
class Backlog:
    frames: list[dict[str, Any]]
    last_seq: int
    first_seq: int | None  # set when truncated


async def backlog(db: Database, actor: Actor, slug: str, since: int | None, cap: int) -> Backlog:
    """Every event after `since` up to the room's seq now, or the newest `cap` of them.

    Access and the room's seq are read first, then the events up to that seq, in one read
    transaction (two statements; one when there is nothing to send), as one call.
    """
    return await handshake.run(db, _backlog, actor, slug, since, cap)


def _backlog(conn: Connection, actor: Actor, slug: str, since: int | None, cap: int) -> Backlog:
    room = _readable_access(conn, actor, slug)
    last = room.last_seq
    if since is None or since >= last:
        return Backlog([], last, None)
    start, first = since, None
    if last - since > cap:
        start = last - cap
        first = start + 1
    return Backlog(read_events(conn, room.ref.id, slug, start, last), last, first)


async def fetch_range(db: Database, slug: str, after: int, upto: int) -> list[dict[str, Any]]:
    """Events with after < seq ≤ upto, as served now (gap fills)."""
    async with db.read() as session:
        room = await room_or_404(session, slug)
        page, _ = await events_page(
            session, room.id, slug, after=after, limit=max(1, min(1000, upto - after))
        )
    return [f for f in page if f["seq"] <= upto]


async def last_seqs(db: Database, slugs: list[str]) -> dict[str, int]:
    async with db.read() as session:
        rows = await session.execute(select(Room.slug, Room.last_seq).where(Room.slug.in_(slugs)))
        return {slug: int(seq) for slug, seq in rows.all()}


async def last_seq(db: Database, slug: str) -> int:
    return (await last_seqs(db, [slug])).get(slug, 0)

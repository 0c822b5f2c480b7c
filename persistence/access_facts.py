"""The facts that decide who may read what, for many users and rooms in a few statements.

When access changes, a process re-checks its affected connections at once: their sessions,
their users' permissions, the rooms they are subscribed to, and the bans there. This reads
all of that for the whole batch in six statements, whatever the number of connections;
`rooms.access.may_read` then decides, as for every other read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, select

from persistence.models import Ban, Membership, Room, RoomModerator, User
from persistence.models import Session as SessionRow
from rooms.model import NO_ROOMS, Actor, Restriction, Role, RoomKind, RoomRef


@dataclass(frozen=True, slots=True)
class AccessFacts:
    """Actors of users who may still act (not gone, not disabled), rooms by slug, bans by
    (room id, user id), and which of the session token hashes are still live."""

    actors: dict[int, Actor]
    rooms: dict[str, RoomRef]
    bans: dict[tuple[int, int], Restriction]
    live_tokens: set[str]


def room_refs(conn: Connection, slugs: Collection[str]) -> dict[str, RoomRef]:
    """The rooms with these slugs, as `may_read` takes them."""
    return {
        slug: RoomRef(rid, slug, RoomKind(kind), locked, archived)
        for rid, slug, kind, locked, archived in conn.execute(
            select(Room.id, Room.slug, Room.kind, Room.locked, Room.archived).where(
                Room.slug.in_(list(slugs))
            )
        )
    }


def room_bans(
    conn: Connection, rooms: Iterable[RoomRef], *where: ColumnElement[bool]
) -> dict[tuple[int, int], Restriction]:
    """Bans in these rooms (active or not: `may_read` decides), by (room id, user id)."""
    return {
        (rid, uid): Restriction(until)
        for rid, uid, until in conn.execute(
            select(Ban.room_id, Ban.user_id, Ban.until).where(
                Ban.room_id.in_([r.id for r in rooms]), *where
            )
        )
    }


def read_access_facts(
    conn: Connection,
    user_ids: Collection[int],
    slugs: Collection[str],
    token_hashes: Collection[str],
    now: datetime,
) -> AccessFacts:
    """Everything `may_read` needs for these users in these rooms, and their sessions."""
    users = list(user_ids)
    users_rows = conn.execute(
        select(User.id, User.username, User.role).where(
            User.id.in_(users), User.disabled_at.is_(None)
        )
    ).all()
    areas: dict[int, set[int]] = {}
    for uid, rid in conn.execute(
        select(Membership.user_id, Membership.room_id).where(Membership.user_id.in_(users))
    ):
        areas.setdefault(uid, set()).add(rid)
    moderated: dict[int, set[int]] = {}
    for uid, rid in conn.execute(
        select(RoomModerator.user_id, RoomModerator.room_id).where(RoomModerator.user_id.in_(users))
    ):
        moderated.setdefault(uid, set()).add(rid)
    actors = {
        uid: Actor(
            user_id=uid,
            username=name,
            role=Role(role),
            area_room_ids=frozenset(areas.get(uid, ())) or NO_ROOMS,
            moderated_room_ids=frozenset(moderated.get(uid, ())) or NO_ROOMS,
        )
        for uid, name, role in users_rows
    }
    rooms = room_refs(conn, slugs)
    bans = room_bans(conn, rooms.values(), Ban.user_id.in_(users))
    live = set(
        conn.execute(
            select(SessionRow.token_hash).where(
                SessionRow.token_hash.in_(list(token_hashes)),
                SessionRow.revoked_at.is_(None),
                SessionRow.expires_at > now,
            )
        ).scalars()
    )
    return AccessFacts(actors, rooms, bans, live)

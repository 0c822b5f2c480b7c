"""The permission filter in SQL agrees with rooms.access.may_read, user by user, room by room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from persistence.accounts import actor_for
from persistence.models import Ban, Membership, Room, User
from persistence.rooms import active_bans, room_ref
from persistence.search.scope import readable_room_ids
from rooms.access import may_read
from tests.search.conftest import Corpus


async def test_sql_filter_matches_may_read(corpus: Corpus) -> None:
    """For every fixture user and room, with bans active, expired and on a moderator."""
    now = datetime.now(UTC)
    async with corpus.db.write() as s:
        ids = {u.username: u.id for u in (await s.execute(select(User))).scalars()}
        rooms = {r.slug: r.id for r in (await s.execute(select(Room))).scalars()}
        await s.execute(
            insert(Ban),
            [
                {"room_id": rooms["theme-one"], "user_id": ids["bob"], "reason": ""},
                {"room_id": rooms["area-a"], "user_id": ids["amy"], "reason": ""},
                {"room_id": rooms["area-a"], "user_id": ids["rita"], "reason": ""},
                {
                    "room_id": rooms["theme-two"],
                    "user_id": ids["ann"],
                    "reason": "",
                    "until": now - timedelta(days=1),
                },
            ],
        )
        # A direct conversation of ann, bob and mo, with mo (staff) banned from it.
        direct = Room(slug="direct-abc", name="ann, bob, mo", kind="direct", topic="")
        s.add(direct)
        await s.flush()
        s.add_all(Membership(room_id=direct.id, user_id=ids[n]) for n in ("ann", "bob", "mo"))
        s.add(Ban(room_id=direct.id, user_id=ids["mo"], reason=""))
    async with corpus.db.read() as s:
        all_rooms = (await s.execute(select(Room))).scalars().all()
        for username, user_id in ids.items():
            actor = await actor_for(s, (await s.get(User, user_id)))  # type: ignore[arg-type]
            bans = await active_bans(s, user_id, now)
            expected = {
                r.id for r in all_rooms if may_read(actor, room_ref(r), bans.get(r.id), now)
            }
            got = set((await s.execute(readable_room_ids(user_id, now))).scalars())
            assert got == expected, username

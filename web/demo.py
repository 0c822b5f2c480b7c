"""The bundled demo: a living Werkplaats for a newcomer, loaded by `werkplaats demo`."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from chat.store import store_sends
from persistence.accounts import actor_for
from persistence.db import Database
from persistence.models import Message, Room, User, utcnow
from persistence.sends import Send
from rooms.errors import DomainError

DEMO_DIR = Path(__file__).parent / "demo"

# (username, password, who) as printed by `werkplaats demo`; the same as in community.toml.
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("anna", "veenweide-2026", "waterschap, gebied Friese Veenweiden"),
    ("sjoerd", "veenweide-2026", "provincie, moderator van Friese Veenweiden"),
    ("marieke", "veenweide-2026", "gemeente, gebied Friese Veenweiden"),
    ("joost", "delta-2026!", "provincie, gebied Zuidwestelijke Delta"),
    ("fatima", "delta-2026!", "waterschap, gebied Zuidwestelijke Delta"),
    ("bram", "zandgrond-2026", "gemeente, gebied Zuidoostelijke zandgronden"),
    ("ingrid", "rijk-2026-lvvn", "Rijk, twee gebieden"),
    ("pieter", "moderator-2026", "moderator van de Werkplaats"),
    ("beheer", "beheer-2026-admin", "beheerder"),
]


async def load_demo(db: Database) -> int:
    """Add the demo messages to rooms that have none yet; returns how many were added."""
    data = tomllib.loads((DEMO_DIR / "messages.toml").read_text(encoding="utf-8"))
    entries = sorted(data["message"], key=lambda m: -m["hours_ago"])
    now = utcnow()
    async with db.read() as session:
        rooms = {r.slug: r.id for r in (await session.execute(select(Room))).scalars()}
        filled = set((await session.execute(select(Message.room_id).distinct())).scalars())
        actors = {}
        for user in (await session.execute(select(User))).scalars():
            actors[user.username] = await actor_for(session, user)
    sends = [
        Send(
            actors[entry["author"]],
            entry["room"],
            entry["body"],
            f"demo-{n}",
            None,
            now - timedelta(hours=entry["hours_ago"]),
        )
        for n, entry in enumerate(entries)
        if rooms[entry["room"]] not in filled
    ]
    # The real send path, so that the demo's rooms are what users' sends make.
    for result in await store_sends(db, sends) if sends else []:
        if isinstance(result, DomainError):
            raise result
    return len(sends)

"""Meeting acts: a Werkplaats meeting (theme, date, place) and its room, made by an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from persistence import moderation as repo
from persistence.db import Database
from persistence.events import iso
from persistence.models import Meeting, Room
from rooms.errors import BadRequest, Conflict
from web.actions.common import Acting


@dataclass(frozen=True, slots=True)
class NewMeeting:
    """A meeting as asked for; its texts cleaned, its start parsed."""

    slug: str
    title: str
    theme: str
    starts_at: datetime
    place: str
    programme: str = ""


async def create_meeting(
    db: Database, acting: Acting, new: NewMeeting, reason: str = ""
) -> tuple[Meeting, Room]:
    """Create the meeting and its room; the slug must be free among rooms and meetings."""
    acting.check_admin()
    taken = Conflict(f"the slug {new.slug!r} is already used by a room")
    try:
        async with db.write() as session:
            theme = await repo.theme_by_slug(session, new.theme)
            if theme is None:
                raise BadRequest(f"field 'theme': no theme {new.theme!r}")
            for model in (Room, Meeting):
                if (await session.execute(select(model.id).where(model.slug == new.slug))).first():
                    raise taken
            meeting, room = await repo.create_meeting(
                session,
                slug=new.slug,
                title=new.title,
                theme=theme,
                starts_at=new.starts_at,
                place=new.place,
                programme=new.programme,
            )
            await repo.record(
                session,
                acting.source,
                "create_meeting",
                room=new.slug,
                reason=reason,
                details={"theme": theme.slug, "date": iso(new.starts_at)},
            )
    except IntegrityError:
        # Another admin took the slug between the check above and the insert.
        raise taken from None
    return meeting, room

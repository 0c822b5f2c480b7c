"""Fixtures of the verslag tests: meetings and registrations written directly."""

from __future__ import annotations

from sqlalchemy import select

from persistence.db import Database
from persistence.models import Meeting, Registration, User
from tests.meetings.conftest import store  # noqa: F401  (the same fixtures here)
from tests.moderation.conftest import two_servers  # noqa: F401


async def register(database: Database, meeting: str, username: str, attended: bool) -> None:
    """`username` registered as going for `meeting`; the attendance as given."""
    async with database.write() as s:
        m = (await s.execute(select(Meeting).where(Meeting.slug == meeting))).scalar_one()
        u = (await s.execute(select(User).where(User.username == username))).scalar_one()
        s.add(Registration(meeting_id=m.id, user_id=u.id, status="going", attended=attended))

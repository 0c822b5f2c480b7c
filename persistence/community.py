"""Upsert a validated community file: areas, themes, meetings, users and memberships."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence import access_changes, glossary, moderation
from persistence.access_changes import AccessChange
from persistence.models import Area, Meeting, Membership, Room, RoomModerator, Theme, User
from persistence.moderation import Source
from rooms.community import Community, UserEntry, meeting_start

Slugged = TypeVar("Slugged", Area, Theme, Meeting, Room)


@dataclass(frozen=True, slots=True)
class PasswordPlan:
    """A user's password for a load, hashed before the write: `seen` is the hash read then
    (None: no such user), `new_hash` the hash to store (None: the file's password matches)."""

    seen: str | None
    new_hash: str | None


class PasswordsChanged(Exception):
    """A user's stored hash changed between the read that planned the load and its write."""


async def password_hashes(session: AsyncSession, usernames: Iterable[str]) -> dict[str, str | None]:
    """The stored hash of each of these users that exists."""
    rows = await session.execute(
        select(User.username, User.password_hash).where(User.username.in_(list(usernames)))
    )
    return {name: stored for name, stored in rows.all()}


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    # Who may have lost access (a role changed): published after the commit.
    access: list[AccessChange] = field(default_factory=list)
    # Users of the file that have no password yet: (user id, e-mail), to be invited.
    passwordless: list[tuple[int, str]] = field(default_factory=list)

    def count(self, what: str, created: bool) -> None:
        bucket = self.created if created else self.updated
        bucket[what] = bucket.get(what, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


async def known_rooms(session: AsyncSession) -> dict[str, str]:
    return dict((await session.execute(select(Room.slug, Room.kind))).all())


def _assign(obj: object, report: LoadReport, what: str, **values: object) -> None:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    if changed:
        report.count(what, created=False)


async def _upsert(
    session: AsyncSession,
    report: LoadReport,
    model: type[Slugged],
    what: str,
    slug: str,
    made: Mapping[str, object],
    **values: object,
) -> Slugged:
    """The `model` row of `slug`, made with `made` and `values` or changed to `values`;
    counted in `report` as `what`."""
    found = await _by_slug(session, model, slug)
    if found is None:
        found = model(slug=slug, **made, **values)
        session.add(found)
        report.count(what, created=True)
    else:
        _assign(found, report, what, **values)
    await session.flush()
    return found


async def _room(
    session: AsyncSession,
    report: LoadReport,
    slug: str,
    name: str,
    kind: str,
    topic: str = "",
    **links: int | None,
) -> Room:
    made = {"kind": kind, "topic": topic, "last_seq": 0}
    return await _upsert(session, report, Room, "rooms", slug, made, name=name, **links)


async def _by_slug(session: AsyncSession, model: type[Slugged], slug: str) -> Slugged | None:
    return (await session.execute(select(model).where(model.slug == slug))).scalar_one_or_none()


async def upsert_community(
    session: AsyncSession,
    community: Community,
    passwords: Mapping[str, PasswordPlan],
    source: Source | None = None,
) -> LoadReport:
    """Create what is new, update what differs; a second run with the same file changes nothing.

    Passwords come hashed in `passwords` (one plan per user of the file): no hashing here,
    inside the caller's transaction. Raises `PasswordsChanged` when a plan is out of date.
    A glossary entry it adds is audited as `source` (the operator) when that is given.
    """
    report = LoadReport()
    rooms: dict[str, Room] = {}
    for a in community.areas:
        area = await _upsert(session, report, Area, "areas", a.slug, {}, name=a.name)
        rooms[a.slug] = await _room(
            session, report, a.slug, a.name, "area", a.topic, area_id=area.id
        )
    themes: dict[str, Theme] = {}
    for t in community.themes:
        theme = await _upsert(session, report, Theme, "themes", t.slug, {}, name=t.name)
        themes[t.slug] = theme
        rooms[t.slug] = await _room(
            session, report, t.slug, t.name, "theme", t.topic, theme_id=theme.id
        )
    for m in community.meetings:
        theme_or_none = themes.get(m.theme) or await _by_slug(session, Theme, m.theme)
        assert theme_or_none is not None  # checked by the parser
        values = dict(
            title=m.title,
            theme_id=theme_or_none.id,
            starts_at=meeting_start(m),
            place=m.place,
            programme=m.programme,
        )
        meeting = await _upsert(session, report, Meeting, "meetings", m.slug, {}, **values)
        rooms[m.slug] = await _room(
            session, report, m.slug, m.title, "meeting", meeting_id=meeting.id
        )
    for u in community.users:
        await _user(session, report, u, rooms, passwords[u.username])
    for g in community.glossary:
        added = await glossary.add(session, g.term, g.means, None)
        if added is not None:
            report.count("glossary", created=True)
            if source is not None:
                pair = {"term": g.term, "means": g.means}
                await moderation.record(
                    session,
                    source,
                    "glossary_add",
                    target=str(added.id),
                    details={**pair, "before": None, "after": pair},
                )
    # Last in the transaction: the access version's row lock is held only until the commit.
    await access_changes.record(session, report.access)
    return report


async def _room_by_slug(session: AsyncSession, rooms: dict[str, Room], slug: str) -> Room:
    if slug not in rooms:
        found = (await session.execute(select(Room).where(Room.slug == slug))).scalar_one()
        rooms[slug] = found
    return rooms[slug]


async def _user(
    session: AsyncSession,
    report: LoadReport,
    u: UserEntry,
    rooms: dict[str, Room],
    plan: PasswordPlan,
) -> None:
    user = (
        await session.execute(select(User).where(User.username == u.username))
    ).scalar_one_or_none()
    values: dict[str, object] = dict(
        display_name=u.display_name, organisation=u.organisation, layer=u.layer, role=u.role
    )
    if u.email is not None:
        values["email"] = u.email
    if (user.password_hash if user is not None else None) != plan.seen:
        raise PasswordsChanged(u.username)
    if user is None:
        # No password in the file: the account waits for its invitation to be accepted.
        user = User(username=u.username, password_hash=plan.new_hash, **values)
        session.add(user)
        report.count("users", created=True)
    else:
        if user.role != u.role:
            report.access.append(AccessChange(user.id, reason=access_changes.ROLE_CHANGED))
        _assign(user, report, "users", **values)
        if plan.new_hash is not None:
            user.password_hash = plan.new_hash
            report.count("passwords", created=False)
    await session.flush()
    if user.password_hash is None and u.email is not None:
        report.passwordless.append((user.id, u.email))
    for slug in u.areas:
        room = await _room_by_slug(session, rooms, slug)
        if await session.get(Membership, (room.id, user.id)) is None:
            session.add(Membership(room_id=room.id, user_id=user.id))
            report.count("memberships", created=True)
    for slug in u.moderates:
        room = await _room_by_slug(session, rooms, slug)
        if await session.get(RoomModerator, (room.id, user.id)) is None:
            session.add(RoomModerator(room_id=room.id, user_id=user.id))
            report.count("room moderators", created=True)
    await session.flush()

"""Archive and privacy duties: room exports (Woo), user exports (AVG art. 15), pseudonymisation
(AVG art. 17) and the retention purge.

Nothing here deletes a room event: seqs stay gap-free whatever is blanked or anonymised.
Every operation writes an audit entry; long runs work in batches with a progress bar
(shown only when stderr is a terminal).
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from persistence import access_changes
from persistence.access_changes import AccessChange
from persistence.db import Database
from persistence.events import StoredEvent, iso, stored_event
from persistence.files import remove_files_of
from persistence.models import (
    AuditEntry,
    Ban,
    DigestSent,
    Event,
    MemberPreference,
    Membership,
    Message,
    MessageRevision,
    Mute,
    Reaction,
    ReadMarker,
    Report,
    Room,
    RoomModerator,
    Session,
    StoredFile,
    User,
    utcnow,
)
from persistence.moderation import Source, record
from persistence.owndata import (
    all_room_slugs,
    audit_about,
    messages_by,
    reports_by,
    sessions_of,
)
from persistence.reactions import reaction_sets_async
from persistence.search import index as search_index
from persistence.search.dutch import index_text
from rooms import moderation as rules

BATCH = 500
ExportFormat = Literal["md", "json"]


class ArchiveError(ValueError):
    """Bad input to an archive command: the message names what is wrong."""


def progress(total: int, what: str) -> tqdm[Any]:
    return tqdm(total=total, desc=what, unit=" events", file=sys.stderr, disable=None)


# Room export.


@dataclass(frozen=True, slots=True)
class ExportedEvent:
    """One event of a room export as stored: its message (when it has one), who hid that
    and its earlier bodies; the web layer (web/wire/archive.py) writes it."""

    event: StoredEvent
    at: datetime
    message: Message | None
    hidden_by: str | None
    revisions: list[MessageRevision]


async def _room(session: AsyncSession, slug: str) -> Room:
    room = (await session.execute(select(Room).where(Room.slug == slug))).scalar_one_or_none()
    if room is None:
        raise ArchiveError(f"no room {slug!r}")
    return room


async def _events(db: Database, room_id: int, include_hidden: bool) -> AsyncIterator[ExportedEvent]:
    """The room's events in seq order, in batches; hidden reactions only when asked for."""
    after = 0
    hider = User.__table__.alias("hider")
    while True:
        async with db.read() as session:
            rows = (
                await session.execute(
                    select(Event, Message, User, hider.c.username)
                    .outerjoin(Message, Message.id == Event.message_id)
                    .outerjoin(User, User.id == Message.author_id)
                    .outerjoin(hider, hider.c.id == Message.hidden_by_id)
                    .where(Event.room_id == room_id, Event.seq > after)
                    .order_by(Event.seq)
                    .limit(BATCH)
                )
            ).all()
            ids = [m.id for _, m, _, _ in rows if m is not None]
            revisions = await revision_rows(session, ids)
            # Messages with their reactions now; each `reactions` event keeps its own set.
            sets = await reaction_sets_async(session, room_id, min(ids), max(ids)) if ids else {}
        if not rows:
            return
        for event, message, author, hidden_by in rows:
            stored = stored_event(event, message, author)
            # A hidden message's reactions are in the archive (`include_hidden`) only, as
            # its text is; each `reactions` event otherwise keeps its own set.
            blank = message is not None and message.hidden and not include_hidden
            if event.type == "message" and message is not None:
                reactions = {} if blank else sets.get(message.id, {})
                stored = msgspec.structs.replace(stored, reactions=reactions)
            elif event.type == "reactions" and blank:
                stored = msgspec.structs.replace(stored, reactions={})
            earlier = revisions.get(message.id, []) if message is not None else []
            yield ExportedEvent(stored, event.created_at, message, hidden_by, earlier)
        after = rows[-1][0].seq


async def revision_rows(session: AsyncSession, ids: list[int]) -> dict[int, list[MessageRevision]]:
    """Each message's earlier bodies, oldest first (edit history, exports)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(MessageRevision)
        .where(MessageRevision.message_id.in_(ids))
        .order_by(MessageRevision.id)
    )
    found: dict[int, list[MessageRevision]] = {}
    for rev in rows.scalars():
        found.setdefault(rev.message_id, []).append(rev)
    return found


@dataclass(frozen=True, slots=True)
class RoomHeader:
    """What an export says of its room, first (JSON: its `room` object)."""

    slug: str
    name: str
    kind: str
    topic: str | None
    locked: bool
    archived: bool
    last_seq: int
    exported_at: str | None
    include_hidden: bool


@dataclass(frozen=True, slots=True)
class RoomExport:
    """An audited room export: its header, and its events as they are read, in batches
    (a big room never sits in memory); the web layer writes the document."""

    header: RoomHeader
    events: AsyncIterator[ExportedEvent]


async def export_room(
    db: Database,
    slug: str,
    source: Source,
    *,
    fmt: ExportFormat = "md",
    include_hidden: bool = False,
    reason: str = "",
) -> RoomExport:
    """Audit the export of a room's whole history, then read it.

    The audit entry is committed before the first event is read: an export that fails
    half-way is still on record, an export that is not on record never happened.
    """
    now = utcnow()
    async with db.write() as session:
        room = await _room(session, slug)
        await record(
            session,
            source,
            "export_room_hidden" if include_hidden else "export_room",
            room=room.slug,
            reason=reason,
            details={"format": fmt, "include_hidden": include_hidden, "last_seq": room.last_seq},
            at=now,
        )
    header = RoomHeader(
        room.slug,
        room.name,
        room.kind,
        room.topic,
        room.locked,
        room.archived,
        room.last_seq,
        iso(now),
        include_hidden,
    )
    return RoomExport(header, _events(db, room.id, include_hidden))


# User export (AVG art. 15).


async def _user(session: AsyncSession, username: str) -> User:
    user = (
        await session.execute(select(User).where(User.username == username))
    ).scalar_one_or_none()
    if user is None:
        raise ArchiveError(f"no user {username!r}")
    return user


@dataclass(frozen=True, slots=True)
class UserExport:
    """Every row stored about one user (AVG art. 15), own hidden text included; the web
    layer (web/wire/archive.py) writes the export of it. `slugs`: room id to slug."""

    exported_at: datetime
    user: User
    slugs: dict[int, str]
    memberships: list[Membership]
    moderates: list[RoomModerator]
    sessions: list[Session]
    preferences: list[MemberPreference]
    digests_sent: list[DigestSent]
    read_markers: list[ReadMarker]
    reactions: list[Reaction]
    reports_filed: list[Report]
    bans: list[Ban]
    mutes: list[Mute]
    files: list[StoredFile]
    audit: list[AuditEntry]
    messages: list[Message]
    revisions: dict[int, list[MessageRevision]]


async def export_user(
    db: Database, username: str, source: Source, *, reason: str = ""
) -> UserExport:
    """Audit the export of one user's data, then read every row of it."""
    async with db.write() as session:
        user = await _user(session, username)
        await record(session, source, "export_user", target=user.username, reason=reason)
    async with db.read() as session:
        slugs = await all_room_slugs(session)
        exported_at = utcnow()

        async def mine(model: Any, *order: Any) -> list[Any]:
            return await _all(
                session, select(model).where(model.user_id == user.id).order_by(*order)
            )

        rows = {
            "memberships": await mine(Membership),
            "moderates": await mine(RoomModerator),
            "sessions": await sessions_of(session, user.id),
            "preferences": await mine(MemberPreference),
            "digests_sent": await mine(DigestSent),
            "read_markers": await mine(ReadMarker),
            "reactions": await mine(Reaction, Reaction.at),
            "reports_filed": await reports_by(session, user.id),
            "bans": await mine(Ban),
            "mutes": await mine(Mute),
            "files": await _all(
                session,
                select(StoredFile).where(StoredFile.uploader_id == user.id).order_by(StoredFile.id),
            ),
            "audit": await audit_about(session, user.username),
        }
    messages, revisions = await _user_messages(db, user.id)
    return UserExport(exported_at, user, slugs, **rows, messages=messages, revisions=revisions)


async def _count(session: AsyncSession, where: Any) -> int:
    return int((await session.execute(select(func.count(Message.id)).where(where))).scalar_one())


async def _all(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.execute(query)).scalars())


async def _user_messages(
    db: Database, user_id: int
) -> tuple[list[Message], dict[int, list[MessageRevision]]]:
    """The user's messages in id order, with their earlier bodies, read in batches."""
    async with db.read() as session:
        total = await _count(session, Message.author_id == user_id)
    found: list[Message] = []
    revisions: dict[int, list[MessageRevision]] = {}
    after = 0
    with progress(total, "messages") as bar:
        while True:
            async with db.read() as session:
                batch = await messages_by(session, user_id, limit=BATCH, after=after)
                revisions.update(await revision_rows(session, [m.id for m in batch]))
            if not batch:
                return found, revisions
            found.extend(batch)
            bar.update(len(batch))
            after = batch[-1].id


# Pseudonymisation (AVG art. 17).


async def pseudonymise(db: Database, username: str, source: Source, *, reason: str = "") -> str:
    """Anonymise an account in one transaction; returns its new username.

    Messages stay where they are (the archive stays consistent), shown as written by
    "Verwijderde deelnemer". Name, organisation, password, sessions, memberships, read
    markers and preferences (with the e-mail address) go. The audit log keeps its old entries: it is append-only by law and design.
    """
    async with db.write() as session:
        user = await _user(session, username)
        if user.pseudonymised:
            raise ArchiveError(f"user {username!r} is already pseudonymised")
        old, new = user.username, rules.pseudonym(user.id)
        display_name = user.display_name
        user.username = new
        user.display_name = rules.PSEUDONYM_DISPLAY_NAME
        user.organisation = ""
        user.layer = "overig"
        user.role = "member"
        user.password_hash = None
        user.pseudonymised = True
        # Access grants and personal settings (the digest e-mail address among them) go.
        for model in (Session, Membership, RoomModerator, ReadMarker, MemberPreference):
            await session.execute(delete(model).where(model.user_id == user.id))
        await _rename_in_events(session, user.id, old, new)
        await rename_files_of(session, user.id, name_parts(old, display_name))
        # Its open connections close on every process, also without a broker.
        gone = AccessChange(user.id, reason=access_changes.SESSION_ENDED)
        await access_changes.record(session, [gone])
        await record(
            session, source, "pseudonymise", target=new, reason=reason, details={"user_id": user.id}
        )
    return new


async def _rename_in_events(session: AsyncSession, user_id: int, old: str, new: str) -> None:
    """Room events name their actor (`by`); served events must not name an erased person."""
    rows = await session.execute(select(Event).where(Event.actor_id == user_id))
    for event in rows.scalars():
        if event.data.get("by") == old:
            event.data = {**event.data, "by": new}
    await session.flush()


# Particles of Dutch names that are no name on their own ("Anna van der Berg").
_PARTICLES = frozenset({"de", "den", "der", "het", "la", "le", "te", "ten", "ter", "van", "von"})


def name_parts(username: str, display_name: str) -> list[str]:
    """What of a person's name may be in a file's name: the username, the whole display
    name and each of its words but particles and initials, longest first."""
    parts = {username, display_name.strip()}
    parts.update(w for w in re.split(r"[\s,.]+", display_name) if len(w) >= 3)
    parts = {p for p in parts if p and p.casefold() not in _PARTICLES}
    return sorted(parts, key=len, reverse=True)


def without_names(name: str, parts: list[str]) -> str:
    """`name` with every part (whole words, any case) replaced by the pseudonym's name."""
    if not parts:
        return name
    pattern = re.compile(
        r"(?<![^\W_])(?:" + "|".join(re.escape(p) for p in parts) + r")(?![^\W_])",
        re.IGNORECASE,
    )
    return pattern.sub(rules.PSEUDONYM_DISPLAY_NAME, name)


async def rename_files_of(session: AsyncSession, user_id: int, parts: list[str]) -> int:
    """Rename the user's uploads whose names name them (file names, the `message`
    events that list those files, and the words search finds them by); the files stay
    attached where they are. Returns how many were renamed."""
    renamed: dict[int, str] = {}
    rows = await session.execute(select(StoredFile).where(StoredFile.uploader_id == user_id))
    for f in rows.scalars():
        new = without_names(f.name, parts)[:255]
        if new == f.name:
            continue
        gone = set(index_text(" ".join(parts)).split())
        f.text = " ".join(w for w in f.text.split() if w not in gone)
        f.text = f"{index_text(new)} {f.text}".strip()
        f.name = new
        renamed[f.id] = new
    if not renamed:
        return 0
    events = await session.execute(
        select(Event).where(
            Event.type == "message",
            Event.message_id.in_(
                select(StoredFile.message_id).where(StoredFile.id.in_(list(renamed)))
            ),
        )
    )
    for event in events.scalars():
        listed = event.data.get("files") or []
        if any(item.get("id") in renamed for item in listed):
            event.data = {
                **event.data,
                "files": [
                    {**item, "name": renamed.get(item.get("id"), item["name"])} for item in listed
                ],
            }
    await session.flush()
    return len(renamed)


# Retention purge.


async def purge(
    db: Database,
    older_than_days: int,
    source: Source,
    *,
    reason: str = "",
    dry_run: bool = False,
    remove_blobs: Callable[[list[str]], Awaitable[None]] | None = None,
) -> int:
    """Blank the bodies (and earlier versions) of messages older than the cutoff, and
    remove their files (rows here; blobs no file refers to any more by `remove_blobs`,
    after each batch's commit).

    Events, message rows, authors and moderation records stay, so seqs and threads remain
    consistent; only the text and the files go. Returns how many messages were (or would
    be) purged.
    """
    if older_than_days < 1:
        raise ArchiveError("--older-than must be at least 1 day")
    now = utcnow()
    cutoff = now - timedelta(days=older_than_days)
    due = (Message.created_at < cutoff) & Message.purged_at.is_(None)
    async with db.read() as session:
        total = await _count(session, due)
    if dry_run:
        return total
    async with db.write() as session:
        await record(
            session,
            source,
            "purge",
            reason=reason,
            details={"older_than_days": older_than_days, "cutoff": iso(cutoff), "messages": total},
            at=now,
        )
    done = 0
    with progress(total, "purge") as bar:
        while True:
            async with db.write() as session:
                ids = list(
                    (await session.execute(select(Message.id).where(due).limit(BATCH))).scalars()
                )
                if not ids:
                    return done
                await session.execute(
                    update(Message).where(Message.id.in_(ids)).values(body="", purged_at=now)
                )
                await session.execute(
                    update(MessageRevision)
                    .where(MessageRevision.message_id.in_(ids))
                    .values(body="")
                )
                # Purged text must not be found again either (SQLite keeps its index by hand).
                await search_index.on_messages_removed(session, ids)
                freed = await remove_files_of(session, ids)
            if freed and remove_blobs is not None:
                await remove_blobs(freed)
            done += len(ids)
            bar.update(len(ids))

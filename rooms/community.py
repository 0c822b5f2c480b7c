"""The community file (TOML): parsed and validated whole before anything is written."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Literal

import msgspec

from rooms.dutchtime import DEFAULT_START, from_local
from rooms.errors import WeakPassword
from rooms.model import SLUG_RE, USERNAME_RE
from rooms.text import clean

Slug = Annotated[str, msgspec.Meta(pattern=f"^{SLUG_RE.pattern}$")]
Username = Annotated[str, msgspec.Meta(pattern=f"^{USERNAME_RE.pattern}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=200)]
# Loose on purpose (one @, a dot in the domain); the mail server judges the rest.
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")]


class AreaEntry(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    name: Name
    topic: str = ""


class ThemeEntry(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    name: Name
    topic: str = ""


class MeetingEntry(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    title: Name
    theme: Slug
    date: datetime
    place: Text = ""
    programme: str = ""


class UserEntry(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    display_name: Name
    # Without a password the user is invited at `email` to choose one. The password rule
    # (length, common passwords) is checked by the caller: see `parse_community`.
    password: str | None = None
    email: Email | None = None
    organisation: Text = ""
    layer: Literal["rijk", "provincie", "gemeente", "waterschap", "overig"] = "overig"
    areas: list[Slug] = msgspec.field(default_factory=list)
    role: Literal["member", "moderator", "admin"] = "member"
    moderates: list[Slug] = msgspec.field(default_factory=list)


class GlossaryItem(msgspec.Struct, forbid_unknown_fields=True):
    """A word of the Werkplaats's own and what it means: search finds each by the other."""

    term: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    means: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class CommunityFile(msgspec.Struct, forbid_unknown_fields=True):
    area: list[AreaEntry] = msgspec.field(default_factory=list)
    theme: list[ThemeEntry] = msgspec.field(default_factory=list)
    meeting: list[MeetingEntry] = msgspec.field(default_factory=list)
    user: list[UserEntry] = msgspec.field(default_factory=list)
    glossary: list[GlossaryItem] = msgspec.field(default_factory=list)


class CommunityError(ValueError):
    """Invalid input: the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Community:
    areas: list[AreaEntry]
    themes: list[ThemeEntry]
    meetings: list[MeetingEntry]
    users: list[UserEntry]
    glossary: list[GlossaryItem] = field(default_factory=list)


def meeting_start(entry: MeetingEntry) -> datetime:
    """The meeting's start in UTC; a date-time without a zone is Dutch time."""
    value = entry.date
    if value.tzinfo is None:
        return from_local(value.date(), value.time())
    return value.astimezone(UTC)


def _dates_to_datetimes(raw: dict[str, object], filename: str) -> None:
    """Meeting dates as aware UTC: a bare date is 10:00 Dutch time, no zone is Dutch time."""
    meetings = raw.get("meeting")
    if not isinstance(meetings, list):
        return
    for i, entry in enumerate(meetings):
        if not isinstance(entry, dict):
            continue
        value = entry.get("date")
        try:
            if isinstance(value, datetime):
                entry["date"] = (
                    from_local(value.date(), value.time()) if value.tzinfo is None else value
                ).astimezone(UTC)
            elif isinstance(value, date):
                entry["date"] = from_local(value, DEFAULT_START)
        except OverflowError:
            where = _describe_path(f"meeting[{i}].date", raw)
            raise CommunityError(f"{filename}: {where}: not a moment UTC can hold") from None


def _describe_path(path: str, data: CommunityFile | dict[str, object]) -> str:
    """Turn msgspec's `$.user[2].layer` into `user[2] (anna): field 'layer'`."""
    trimmed = path.removeprefix("$.")
    head, _, field = trimmed.partition(".")
    label = head
    if "[" in head and isinstance(data, dict):
        kind, _, index = head.partition("[")
        entries = data.get(kind)
        try:
            entry = entries[int(index.rstrip("]"))] if isinstance(entries, list) else None
        except (ValueError, IndexError):
            entry = None
        if isinstance(entry, dict):
            key = entry.get("slug", entry.get("username"))
            if isinstance(key, str):
                label = f"{head} ({key})"
    return f"{label}: field '{field}'" if field else label


def parse_community(
    text: str,
    filename: str,
    known_rooms: dict[str, str] | None = None,
    password_rule: Callable[[str, str], None] | None = None,
) -> Community:
    """Parse and check the whole file; raise CommunityError naming file, entry and field.

    `known_rooms` maps the slugs already in the database to their kind, so that a file may
    refer to areas and themes loaded earlier. `password_rule(password, username)` raises
    WeakPassword (its message the reason) for a password the server would refuse for a new
    one: the same rule as for invitations and password changes.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CommunityError(f"{filename}: not valid TOML: {exc}") from None
    _dates_to_datetimes(raw, filename)
    try:
        parsed = msgspec.convert(raw, CommunityFile)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).rpartition(" - at `")
        if not path:
            raise CommunityError(f"{filename}: {exc}") from None
        where = _describe_path(path.rstrip("`"), raw)
        raise CommunityError(f"{filename}: {where}: {message}") from None
    _check_references(parsed, filename, known_rooms or {})
    if password_rule is not None:
        _check_passwords(parsed, filename, password_rule)
    _clean_texts(parsed)
    for item in parsed.glossary:
        item.term, item.means = clean(item.term).strip(), clean(item.means).strip()
    return Community(parsed.area, parsed.theme, parsed.meeting, parsed.user, parsed.glossary)


def _check_passwords(
    parsed: CommunityFile, filename: str, rule: Callable[[str, str], None]
) -> None:
    for i, user in enumerate(parsed.user):
        if user.password is None:
            continue
        try:
            rule(user.password, user.username)
        except WeakPassword as exc:
            raise CommunityError(
                f"{filename}: user[{i}] ({user.username}): field 'password': {exc.message}"
            ) from None


def _clean_texts(parsed: CommunityFile) -> None:
    """Names, topics and meeting fields without bidi overrides or invisible controls."""
    rooms: list[AreaEntry | ThemeEntry] = [*parsed.area, *parsed.theme]
    for room in rooms:
        room.name, room.topic = clean(room.name), clean(room.topic)
    for meeting in parsed.meeting:
        meeting.title, meeting.place = clean(meeting.title), clean(meeting.place)
        meeting.programme = clean(meeting.programme)
    for user in parsed.user:
        user.display_name, user.organisation = clean(user.display_name), clean(user.organisation)
        user.email = user.email.strip().lower() if user.email is not None else None


def _check_references(parsed: CommunityFile, filename: str, known: dict[str, str]) -> None:
    room_slugs: dict[str, str] = {}
    entries: list[tuple[str, AreaEntry | ThemeEntry | MeetingEntry]] = [
        *(("area", a) for a in parsed.area),
        *(("theme", t) for t in parsed.theme),
        *(("meeting", m) for m in parsed.meeting),
    ]
    counters: dict[str, int] = {}
    for kind, entry in entries:
        i = counters[kind] = counters.get(kind, -1) + 1
        if entry.slug in room_slugs:
            raise CommunityError(
                f"{filename}: {kind}[{i}] ({entry.slug}): field 'slug': "
                f"already used by {room_slugs[entry.slug]}"
            )
        room_slugs[entry.slug] = f"{kind}[{i}]"
    areas = {a.slug for a in parsed.area} | {s for s, k in known.items() if k == "area"}
    themes = {t.slug for t in parsed.theme} | {s for s, k in known.items() if k == "theme"}
    all_rooms = set(room_slugs) | set(known)
    for i, meeting in enumerate(parsed.meeting):
        if meeting.theme not in themes:
            raise CommunityError(
                f"{filename}: meeting[{i}] ({meeting.slug}): field 'theme': "
                f"no theme {meeting.theme!r}"
            )
    seen: set[str] = set()
    for i, user in enumerate(parsed.user):
        where = f"{filename}: user[{i}] ({user.username})"
        if user.username in seen:
            raise CommunityError(f"{where}: field 'username': listed twice")
        if user.password is None and user.email is None:
            raise CommunityError(
                f"{where}: field 'password': give a password, or an email to invite the user at"
            )
        seen.add(user.username)
        for slug in user.areas:
            if slug not in areas:
                raise CommunityError(f"{where}: field 'areas': no area {slug!r}")
        for slug in user.moderates:
            if slug not in all_rooms:
                raise CommunityError(f"{where}: field 'moderates': no room {slug!r}")

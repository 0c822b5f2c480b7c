"""SQLAlchemy 2 models. The room's `last_seq` counter is the truth for event order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Every wall-clock decision reads this one clock (docs/reliability.md, "Clocks").
from persistence.wallclock import utcnow as utcnow


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 in UTC with a Z, millisecond precision: what every wire timestamp looks like.

    %-formatting, not `strftime` or an f-string: a catch-up formats one or two per event,
    and this is 2.5 times as fast as `strftime` (a naive datetime is taken as UTC, as the
    database columns hold it).
    """
    if dt is None:
        return None
    if dt.tzinfo is not None and dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 (speed, see above)
        dt.year,
        dt.month,
        dt.day,
        dt.hour,
        dt.minute,
        dt.second,
        dt.microsecond // 1000,
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Named constraints so Alembic batch migrations on SQLite can address them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    layer: Mapped[str] = mapped_column(String(16), default="overig")
    role: Mapped[str] = mapped_column(String(16), default="member")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pseudonymised: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set while the account is disabled: no login, no session, no open connection.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The account's own address (lower case): invitations, password resets and single
    # sign-on (matched against a provider's verified e-mail) use it.
    email: Mapped[str | None] = mapped_column(String(254), index=True)


@dataclass(frozen=True, slots=True)
class Member:
    """A logged-in user as each request and connection carries it: who they are on the
    wire and their role. Not an ORM `User`: building one of those cost more than the
    statement that read it, and the password hash has no business in every request."""

    id: int
    username: str
    display_name: str
    organisation: str
    layer: str
    role: str


class Area(Base):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Theme(Base):
    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Meeting(Base):
    """A Werkplaats meeting: one theme, a date and a place."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200), default="")
    programme: Mapped[str] = mapped_column(Text, default="")
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: no limit; people beyond it go on the waitlist.
    capacity: Mapped[int | None] = mapped_column(Integer)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="planned", server_default="planned")
    # The iCalendar SEQUENCE: raised at every change so calendars replace their copy.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (
        # A room list reads the shared rooms through this index, never the direct
        # conversations of others (persistence.rooms.listed_rooms).
        Index(
            "ix_rooms_shared",
            "kind",
            "slug",
            postgresql_where=text("kind <> 'direct'"),
            sqlite_where=text("kind <> 'direct'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(Text, default="")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Incremented in the same transaction as each event insert; the row lock serialises writers.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """Team membership of a room (area rooms are readable by their members)."""

    __tablename__ = "memberships"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoomModerator(Base):
    __tablename__ = "room_moderators"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class Event(Base):
    """One entry of a room's stream; (room_id, seq) is gap-free per room."""

    __tablename__ = "events"
    __table_args__ = (
        # The few events that are no message, for unread counts (persistence/handshake.py).
        Index(
            "ix_events_not_message",
            "room_id",
            "seq",
            postgresql_where=text("type <> 'message'"),
            sqlite_where=text("type <> 'message'"),
        ),
    )

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(BigId, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    """A message as it is now; earlier bodies are in `message_revisions`."""

    __tablename__ = "messages"
    __table_args__ = (
        # The idempotency key of `send`: one message per (author, room, client_id).
        UniqueConstraint("author_id", "room_id", "client_id", name="uq_messages_idempotency"),
        Index("ix_messages_room_created", "room_id", "created_at"),
        # A user's own messages after their read marker (unread counts); by author too.
        Index("ix_messages_author_room_seq", "author_id", "room_id", "seq"),
        # Unread messages that may mention someone.
        Index(
            "ix_messages_at_sign",
            "room_id",
            "seq",
            postgresql_where=text("body LIKE '%@%'"),
            sqlite_where=text("body LIKE '%@%'"),
        ),
        # A room's topics and the events API's `topic=` (rooms.conversations).
        Index("ix_messages_room_topic", "room_id", "topic"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    reply_to: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Hidden by a moderator or retracted by the author: kept for the archive, never served.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    # Set by the retention purge: the body (and its revisions) blanked, the event kept.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The message's topic (onderwerp), 1..60 characters; a reply has its parent's.
    topic: Mapped[str | None] = mapped_column(String(60))


class MessageRevision(Base):
    __tablename__ = "message_revisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReadMarker(Base):
    __tablename__ = "read_markers"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Ban(Base):
    __tablename__ = "bans"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mute(Base):
    __tablename__ = "mutes"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(Base):
    __tablename__ = "reports"
    # The moderators' queue reads reports by status, newest first.
    __table_args__ = (Index("ix_reports_status_at", "status", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Pin(Base):
    """A message pinned in its room by a moderator (listed with the room)."""

    __tablename__ = "pins"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    pinned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Append-only: the application only inserts; the database refuses updates and deletes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    room: Mapped[str | None] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Session(Base):
    """A login; only the token's hash is stored, so a database leak yields no usable token."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessVersion(Base):
    """One row: a counter bumped by every transaction that may take away someone's access.

    Its row lock serialises those transactions, so versions become visible in order and a
    process that has seen version V has seen every change up to V (persistence.access_changes).
    """

    __tablename__ = "access_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class AccessChangeRow(Base):
    """What a version changed: a user (`user_id`), a room (`room`), or neither (everyone)."""

    __tablename__ = "access_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    room: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Between meetings (issue 9): marks, theme tags, member preferences, digests sent.


class MessageMark(Base):
    """A message marked as vraag, besluit or actiepunt; one mark per message."""

    __tablename__ = "message_marks"
    # The catch-up, the agenda and the overview read marks per room and kind.
    __table_args__ = (Index("ix_message_marks_room_kind", "room_id", "kind"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due: Mapped[date | None] = mapped_column(Date)
    # The meeting whose agenda lists the item (the next meeting when it was marked).
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    marked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The seq of the latest `message_marked` event, so windows by seq find it.
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    answer_id: Mapped[int | None] = mapped_column(BigId)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An actiepunt's course: open, bezig, gedaan or vervallen (None for other kinds).
    action_status: Mapped[str | None] = mapped_column(String(16))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class MessageTheme(Base):
    """A theme a message is tagged with (for the area × theme overview)."""

    __tablename__ = "message_themes"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberPreference(Base):
    """A member's own settings: the digest e-mail (on unless turned off) and its address."""

    __tablename__ = "member_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestSent(Base):
    """One row per meeting and member: running the digest twice sends nothing twice."""

    __tablename__ = "digests_sent"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The meeting cycle (issue 23): registrations and personal calendar feeds.

REGISTRATION_STATUSES = ("going", "maybe", "waitlist", "not_going")


class Registration(Base):
    """A member's answer to a meeting; the waitlist is ordered by `registered_at`, then id."""

    __tablename__ = "meeting_registrations"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id", name="uq_meeting_registrations_meeting_user"),
        CheckConstraint("status IN ('going', 'maybe', 'waitlist', 'not_going')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(Text)
    # Set again at each change of status: a waitlist place is taken in order of asking.
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attended: Mapped[bool | None] = mapped_column(Boolean)


class CalendarFeed(Base):
    """A member's secret calendar address; only the secret's hash is stored."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Public pages (issue 25): publications, the consent of each listed author, quoted messages.


class Publication(Base):
    """A lesson card or a published verslag offered to the public pages (`/openbaar`).

    Public only while `status` is `published`; `search_text` is the published text alone,
    lower-cased, so the public search can never find what the page does not show.
    """

    __tablename__ = "publications"
    # The public list: published ones, newest first.
    __table_args__ = (Index("ix_publications_status_published", "status", "published_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # A verslag's sanitised HTML as it was published (its plain text is `body`).
    html: Mapped[str] = mapped_column(Text, default="")
    context: Mapped[str] = mapped_column(Text, default="")
    worked: Mapped[str] = mapped_column(Text, default="")
    did_not_work: Mapped[str] = mapped_column(Text, default="")
    area: Mapped[str] = mapped_column(String(100), default="")
    theme: Mapped[str] = mapped_column(String(100), default="")
    # `,gemeente,waterschap,`: one LIKE filters by layer on every database.
    layers: Mapped[str] = mapped_column(String(100), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PublicationAuthor(Base):
    """A listed author and their answer: `consent` None until they answer."""

    __tablename__ = "publication_authors"

    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    consent: Mapped[bool | None] = mapped_column(Boolean)
    show_name: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PublicationQuote(Base):
    """A quoted message as it read when the lesson was made: what its author consents to."""

    __tablename__ = "publication_quotes"

    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The verslag (issue 23): one report per meeting, and every revision of its text.


class MeetingReport(Base):
    """A meeting's report (verslag): its current text, rendered once on write, and status.

    Not `Report`: that name is the moderators' queue of reported messages.
    """

    __tablename__ = "meeting_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    body: Mapped[str] = mapped_column(Text, default="")
    # Rendered and sanitised when written, so reads never run the Markdown renderer.
    html: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class MeetingReportRevision(Base):
    """Every text a report has had, numbered 1, 2, … per report."""

    __tablename__ = "meeting_report_revisions"

    report_id: Mapped[int] = mapped_column(ForeignKey("meeting_reports.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class StoredFile(Base):
    """An uploaded attachment: its bytes are in the blob store under `sha256` (shared by
    every upload of the same content); `message_id` is set once a send carries it."""

    __tablename__ = "files"
    __table_args__ = (
        # A user's quota is the sum of their files' sizes.
        Index("ix_files_uploader", "uploader_id"),
        # Orphans: uploaded, never sent, older than a day.
        Index("ix_files_unused", "created_at", postgresql_where=text("message_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    message_id: Mapped[int | None] = mapped_column(BigId, index=True)
    # Set for a file of a meeting's report (POST /api/meetings/{slug}/files).
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Words of the name and of the text extracted from the content, for search.
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Accounts (issue 27): invitations, and one-time tokens for password resets and sign-on.


class Invitation(Base):
    """An invitation by e-mail: only the token's hash is kept; it works once, until expiry.

    `user_id` is set for an account that `load` made without a password: accepting it sets
    that account's password instead of making a new one.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    layer: Mapped[str] = mapped_column(String(16), default="overig")
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    role: Mapped[str] = mapped_column(String(16), default="member")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invited_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AccountToken(Base):
    """A one-time token: a password reset link (`reset`) or a single sign-on's state (`oidc`).

    Only the hash is kept; taking it sets `used_at` in one conditional update, so two
    requests with the same token cannot both succeed.
    """

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Notifications (issue 27): room levels, push subscriptions, the VAPID key, mails waiting.


class NotificationLevel(Base):
    """A user's notification level for one room; no row means the default (`mentions`)."""

    __tablename__ = "notification_levels"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True, index=True)
    level: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushSubscription(Base):
    """A browser's Web Push subscription (RFC 8030): where to post and how to encrypt."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # One browser, one subscription: a second user signing in there takes it over.
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VapidKey(Base):
    """The server's VAPID signing key (RFC 8292): made once by the first process to start."""

    __tablename__ = "vapid_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The P-256 private scalar, base64url; every process signs with the same key.
    private_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationMail(Base):
    """A mention or actiepunt that goes out by e-mail when still unseen at `due_at`."""

    __tablename__ = "notification_mails"
    __table_args__ = (
        UniqueConstraint("user_id", "message_id", "kind", name="uq_notification_mails_once"),
        Index("ix_notification_mails_due", "sent_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    message_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by the one process that takes the row; cleared again when sending failed.
    claim: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Sent, or settled without a mail (seen in time, level none, access lost).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationMailOff(Base):
    """A member who followed the unsubscribe link of a notification e-mail."""

    __tablename__ = "notification_mail_off"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Conversations (issue 28): reactions, topic renames; direct conversations are rooms of
# kind `direct` whose members are `memberships` rows.


class Reaction(Base):
    """One member's emoji on one message; the set per message is what `reactions` shows."""

    __tablename__ = "reactions"
    # A page of events reads the reactions of its messages by room and message id.
    __table_args__ = (Index("ix_reactions_room_message", "room_id", "message_id"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(32), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TopicAlias(Base):
    """A topic's former name in a room, so that search still finds it by that name."""

    __tablename__ = "topic_aliases"
    __table_args__ = (Index("ix_topic_aliases_room_old", "room_id", "old_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    old_name: Mapped[str] = mapped_column(String(60))
    new_name: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Poll(Base):
    """A poll in a room (rooms.polls); its ballots are in `poll_ballots`."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PollBallot(Base):
    """One voter's choices; in an anonymous poll `voter` is a keyed hash and `user_id` is
    NULL, so nothing stored links a ballot to its voter (rooms.polls.ballot_key)."""

    __tablename__ = "poll_ballots"

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    voter: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    choices: Mapped[list[int]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GlossaryEntry(Base):
    """A word of the Werkplaats's own and what it means ("NPLG" ↔ "Nationaal Programma
    Landelijk Gebied"), kept by moderators: a search for one finds the other too."""

    __tablename__ = "glossary"
    __table_args__ = (UniqueConstraint("term", "means", name="uq_glossary_term_means"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    term: Mapped[str] = mapped_column(String(100))
    means: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServerSecret(Base):
    """A random secret the server makes once, by the first process to need it, and keeps,
    so that every process (and a restored backup) uses the same one: e.g. the key that
    files an anonymous poll's ballots under no voter (`persistence.polls.ballot_secret`)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Moderation rules, pure: reasons, sanctions, room settings, slow mode, reports, pseudonyms.

The web layer parses requests and the persistence layer stores; the decisions about what
is allowed and what a value must look like live here, free of any I/O.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from rooms import text
from rooms.access import may_moderate
from rooms.dutchtime import DEFAULT_START, parse_dutch
from rooms.errors import BadRequest, Conflict, Forbidden, RateLimited
from rooms.model import Actor, Role, RoomKind, RoomRef

# A reason is shown to moderators and kept in the audit log for years: a sentence, not an essay.
MAX_REASON_CHARS = 1000
MAX_TOPIC_CHARS = 500
# A year: a longer silence is a ban and should be recorded as one.
MAX_MUTE_MINUTES = 365 * 24 * 60
# An hour between posts is a room that is effectively locked; lock it instead.
MAX_SLOW_MODE_SECONDS = 3600
# A meeting given as a bare date starts at 10:00 Dutch time, as in the community file.
MEETING_DEFAULT_START = DEFAULT_START

REPORT_STATUSES = ("open", "resolved", "dismissed")
CLOSED_REPORT_STATUSES = frozenset({"resolved", "dismissed"})

PSEUDONYM_PREFIX = "verwijderd-"
PSEUDONYM_DISPLAY_NAME = "Verwijderde deelnemer"

# One audit action per room setting and value: (field, new value) -> action.
ROOM_SETTING_ACTIONS: dict[tuple[str, object], str] = {
    ("locked", True): "lock",
    ("locked", False): "unlock",
    ("archived", True): "archive",
    ("archived", False): "unarchive",
}


def check_reason(value: str, *, what: str = "reason") -> str:
    """A reason cleaned, trimmed, present and bounded; raises `BadRequest` naming the field."""
    value = text.clean(value).strip()
    if not value:
        raise BadRequest(f"field {what!r} is required: say why")
    if len(value) > MAX_REASON_CHARS:
        raise BadRequest(f"field {what!r} is longer than {MAX_REASON_CHARS} characters")
    return value


def optional_reason(value: str | None) -> str:
    """A reason that may be left out or blank (then there is none), else `check_reason`."""
    return check_reason(value) if value is not None and value.strip() else ""


def check_topic(value: str) -> str:
    """A room topic cleaned of bidi and invisible controls, trimmed and bounded."""
    value = text.clean(value).strip()
    if len(value) > MAX_TOPIC_CHARS:
        raise BadRequest(f"field 'topic' is longer than {MAX_TOPIC_CHARS} characters")
    return value


def check_sanction_target(actor: Actor, target: Actor, room: RoomRef, verb: str) -> None:
    """A moderator may not sanction themselves, nor anyone who moderates the room too."""
    if target.user_id == actor.user_id:
        raise BadRequest(f"you cannot {verb} yourself")
    if may_moderate(target, room):
        raise Forbidden(f"{target.username} moderates room {room.slug} and cannot be {verb}d")


def parse_instant(value: str, field: str) -> datetime:
    """A typed moment (a ban's `until`) as aware UTC; a date or no zone is Dutch time.

    A bare date means the start of that day in the Netherlands.
    """
    return parse_dutch(value, field, default_time=time(0, 0))


def parse_meeting_start(value: str) -> datetime:
    """A meeting's `date`: a date (10:00 Dutch time that day) or a date-time (Dutch if no zone)."""
    return parse_dutch(value, "date", default_time=MEETING_DEFAULT_START)


def check_ban_until(until: datetime | None, now: datetime) -> None:
    if until is not None and until <= now:
        raise BadRequest("field 'until' lies in the past: a ban must end in the future")


def check_mute_minutes(minutes: int) -> None:
    if not 1 <= minutes <= MAX_MUTE_MINUTES:
        raise BadRequest(f"field 'minutes' must be between 1 and {MAX_MUTE_MINUTES}")


def mute_until(now: datetime, minutes: int) -> datetime:
    check_mute_minutes(minutes)
    return now + timedelta(minutes=minutes)


def slow_mode_wait(last_post_at: datetime | None, now: datetime, seconds: int) -> float:
    """Seconds the member must still wait before posting again; 0 when they may post."""
    if seconds <= 0 or last_post_at is None:
        return 0.0
    return max(0.0, seconds - (now - last_post_at).total_seconds())


def check_slow_mode(last_post_at: datetime | None, now: datetime, seconds: int) -> None:
    """Raise `rate_limited` with `retry_after` while the room's slow mode holds the member back.

    Moderators of the room are exempt: call this only for those who may not moderate it.
    """
    wait = slow_mode_wait(last_post_at, now, seconds)
    if wait > 0:
        raise RateLimited(
            f"slow mode: one message per {seconds} s in this room; wait {wait:.0f} s",
            retry_after=wait,
        )


def check_report_status(value: str) -> str:
    """The status a moderator may give a report: resolved or dismissed."""
    if value not in CLOSED_REPORT_STATUSES:
        raise BadRequest("field 'status' must be 'resolved' or 'dismissed'")
    return value


def check_report_transition(current: str, new: str) -> None:
    check_report_status(new)
    if current != "open":
        raise Conflict(f"the report is already {current}")


def report_scope(actor: Actor) -> frozenset[int] | None:
    """The rooms whose reports and audit the actor may see; None means every room."""
    if actor.is_staff:
        return None
    if not actor.moderated_room_ids:
        raise Forbidden("only moderators may see reports and the audit log")
    return actor.moderated_room_ids


def check_membership_room(room: RoomRef) -> None:
    """Team membership decides access only in area rooms."""
    if room.kind is not RoomKind.AREA:
        raise BadRequest(
            f"room {room.slug} is a {room.kind.value} room; "
            "team membership applies to area rooms only"
        )


def check_pinnable(hidden: bool) -> None:
    if hidden:
        raise Conflict("a hidden message cannot be pinned")


def is_admin(actor: Actor) -> bool:
    return actor.role is Role.ADMIN


def pseudonym(user_id: int) -> str:
    """The username an erased account gets: stable, unique, and free of personal data."""
    return f"{PSEUDONYM_PREFIX}{user_id}"


# The audit log's filter by kind of action, and the values every moderator may see.
AUDIT_KINDS: dict[str, frozenset[str]] = {
    "sanctions": frozenset({"ban", "unban", "mute", "unmute"}),
    "messages": frozenset({"hide", "pin", "unpin", "rename_topic"}),
    "room": frozenset(
        {"lock", "unlock", "archive", "unarchive", "set_topic", "set_slow_mode_seconds"}
        | {"room_updated", "purge", "export_room", "export_room_hidden", "create_meeting"}
    ),
    "people": frozenset(
        {"add_moderator", "remove_moderator", "add_member", "remove_member"}
        | {"export_user", "pseudonymise", "disable_user", "enable_user"}
    ),
    "reports": frozenset({"report_resolved", "report_dismissed"}),
    "glossary": frozenset({"glossary_add", "glossary_remove"}),
}
# Details of an entry that say what the act set (seconds, until, a topic), never who or where
# from: those stay for administrators (`source`, full `details`).
AUDIT_VALUES = (
    *("until", "minutes", "slow_mode_seconds", "topic", "locked", "archived", "seq"),
    *("term", "means"),  # a glossary entry added or removed (public words, no person's)
)


def audit_values(details: dict[str, object]) -> dict[str, object]:
    """The part of an entry's details that every moderator of its room may see."""
    return {k: details[k] for k in AUDIT_VALUES if k in details}

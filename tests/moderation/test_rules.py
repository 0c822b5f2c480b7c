"""The pure moderation rules: plain synchronous tests, no storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rooms import moderation as rules
from rooms.errors import BadRequest, Conflict, Forbidden, RateLimited
from rooms.model import Actor, Role, RoomKind, RoomRef

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
AREA = RoomRef(id=1, slug="area-a", kind=RoomKind.AREA)
THEME = RoomRef(id=3, slug="theme-one", kind=RoomKind.THEME)
MEMBER = Actor(2, "ann", Role.MEMBER, area_room_ids=frozenset({1}))
ROOM_MOD = Actor(4, "rita", Role.MEMBER, frozenset({1}), frozenset({1}))
GLOBAL_MOD = Actor(5, "mo", Role.MODERATOR)
ADMIN = Actor(6, "ada", Role.ADMIN)


@pytest.mark.parametrize(
    ("last", "seconds", "wait"),
    [
        (None, 30, 0.0),
        (NOW - timedelta(seconds=10), 0, 0.0),
        (NOW - timedelta(seconds=10), 30, 20.0),
        (NOW - timedelta(seconds=45), 30, 0.0),
    ],
)
def test_slow_mode_wait(last: datetime | None, seconds: int, wait: float) -> None:
    """The wait is what remains of the interval since the member's last post."""
    assert rules.slow_mode_wait(last, NOW, seconds) == wait


def test_slow_mode_refuses_with_retry_after() -> None:
    """Posting too soon is `rate_limited` carrying the seconds left."""
    with pytest.raises(RateLimited) as refused:
        rules.check_slow_mode(NOW - timedelta(seconds=5), NOW, 60)
    assert refused.value.retry_after == 55.0
    rules.check_slow_mode(NOW - timedelta(seconds=61), NOW, 60)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T11:00:00+01:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("2026-07-01T10:00:00", datetime(2026, 7, 1, 8, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 11, 30, 23, tzinfo=UTC)),
    ],
)
def test_instants_are_utc(text: str, expected: datetime) -> None:
    """ISO-8601 with Z or an offset as given; no zone, or a bare date, is Dutch time."""
    assert rules.parse_instant(text, "until") == expected


def test_bad_instant_names_the_field() -> None:
    """A malformed date-time is a bad request naming the field and the value."""
    with pytest.raises(BadRequest, match=r"'until'.*'tomorrow'"):
        rules.parse_instant("tomorrow", "until")


def test_meeting_date_alone_starts_at_ten() -> None:
    """A bare date is 10:00 Dutch time that day, as in the community file."""
    assert rules.parse_meeting_start("2026-12-01") == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert rules.parse_meeting_start("2026-06-01") == datetime(2026, 6, 1, 8, tzinfo=UTC)


def test_ban_must_end_in_the_future() -> None:
    """An end time in the past is refused; no end time is a ban until lifted."""
    with pytest.raises(BadRequest, match="past"):
        rules.check_ban_until(NOW - timedelta(minutes=1), NOW)
    rules.check_ban_until(None, NOW)


@pytest.mark.parametrize("minutes", [0, -5, rules.MAX_MUTE_MINUTES + 1])
def test_mute_minutes_bounded(minutes: int) -> None:
    """A mute lasts from one minute to a year."""
    with pytest.raises(BadRequest, match="minutes"):
        rules.mute_until(NOW, minutes)


@pytest.mark.parametrize(
    ("actor", "target", "error"),
    [
        (ROOM_MOD, ROOM_MOD, BadRequest),
        (ROOM_MOD, GLOBAL_MOD, Forbidden),
        (ROOM_MOD, ADMIN, Forbidden),
        (GLOBAL_MOD, ROOM_MOD, Forbidden),
    ],
)
def test_moderators_cannot_be_sanctioned(
    actor: Actor, target: Actor, error: type[Exception]
) -> None:
    """Nobody bans themselves, nor anyone who moderates the room too."""
    with pytest.raises(error):
        rules.check_sanction_target(actor, target, AREA, "ban")


def test_members_can_be_sanctioned() -> None:
    """A room moderator may sanction a member of their room."""
    rules.check_sanction_target(ROOM_MOD, MEMBER, AREA, "ban")


def test_report_scope_by_role() -> None:
    """Staff see every room, a room moderator their rooms, a member nothing."""
    assert rules.report_scope(ADMIN) is None
    assert rules.report_scope(GLOBAL_MOD) is None
    assert rules.report_scope(ROOM_MOD) == frozenset({1})
    with pytest.raises(Forbidden):
        rules.report_scope(MEMBER)


def test_report_transitions() -> None:
    """An open report may be resolved or dismissed, once."""
    rules.check_report_transition("open", "resolved")
    with pytest.raises(Conflict, match="already dismissed"):
        rules.check_report_transition("dismissed", "resolved")
    with pytest.raises(BadRequest, match="'status'"):
        rules.check_report_transition("open", "open")


def test_membership_only_in_area_rooms() -> None:
    """Theme rooms are open to all: adding members there is a bad request."""
    rules.check_membership_room(AREA)
    with pytest.raises(BadRequest, match="area rooms only"):
        rules.check_membership_room(THEME)


def test_reason_is_required_and_bounded() -> None:
    """A blank reason is refused, a long one too; whitespace is trimmed."""
    assert rules.check_reason("  spam ") == "spam"
    with pytest.raises(BadRequest, match="say why"):
        rules.check_reason("   ")
    with pytest.raises(BadRequest, match="longer"):
        rules.check_reason("x" * (rules.MAX_REASON_CHARS + 1))


def test_pseudonym_is_a_valid_username() -> None:
    """The erased account's username is stable and matches the username pattern."""
    from rooms.model import USERNAME_RE

    assert rules.pseudonym(123) == "verwijderd-123"
    assert USERNAME_RE.fullmatch(rules.pseudonym(10**9))

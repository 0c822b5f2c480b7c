"""The pure access rules, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rooms.access import (
    area_rooms_open_to,
    check_post,
    may_moderate,
    may_read,
    open_to_all,
    sanctions_bind,
)
from rooms.errors import DomainError, Forbidden, Muted, RoomLocked
from rooms.model import Actor, Restriction, Role, RoomKind, RoomRef

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
AREA = RoomRef(1, "area-a", RoomKind.AREA)
OTHER_AREA = RoomRef(2, "area-b", RoomKind.AREA)
THEME = RoomRef(3, "theme", RoomKind.THEME)
DIRECT = RoomRef(5, "direct-x", RoomKind.DIRECT)
MEMBER = Actor(10, "ann", Role.MEMBER, area_room_ids=frozenset({1, 5}))
OUTSIDER = Actor(11, "bob", Role.MEMBER, area_room_ids=frozenset({2}))
ROOM_MOD = Actor(12, "rita", Role.MEMBER, moderated_room_ids=frozenset({1}))
MODERATOR = Actor(13, "mo", Role.MODERATOR)
ADMIN = Actor(14, "ada", Role.ADMIN)
BAN = Restriction(None)
EXPIRED = Restriction(NOW - timedelta(minutes=1))


@pytest.mark.parametrize(
    ("actor", "room", "ban", "expected"),
    [
        (MEMBER, AREA, None, True),
        (OUTSIDER, AREA, None, False),
        (ROOM_MOD, AREA, None, True),
        (ROOM_MOD, OTHER_AREA, None, False),
        (MODERATOR, OTHER_AREA, None, True),
        (ADMIN, AREA, None, True),
        (OUTSIDER, THEME, None, True),
        (MEMBER, AREA, BAN, False),
        (MEMBER, THEME, BAN, False),
        (MEMBER, AREA, EXPIRED, True),
        (MEMBER, DIRECT, None, True),
        (MEMBER, DIRECT, BAN, False),
        (OUTSIDER, DIRECT, None, False),
        (ROOM_MOD, DIRECT, None, False),
        (MODERATOR, DIRECT, None, False),
        (ADMIN, DIRECT, None, False),
        (Actor(15, "ida", Role.ADMIN, area_room_ids=frozenset({5})), DIRECT, BAN, False),
    ],
)
def test_may_read(actor: Actor, room: RoomRef, ban: Restriction | None, expected: bool) -> None:
    assert may_read(actor, room, ban, NOW) is expected


def test_room_moderator_has_no_power_elsewhere() -> None:
    assert may_moderate(ROOM_MOD, AREA) and not may_moderate(ROOM_MOD, OTHER_AREA)


@pytest.mark.parametrize(
    ("actor", "room", "mute", "error"),
    [
        (MEMBER, RoomRef(1, "a", RoomKind.AREA, locked=True), None, RoomLocked),
        (MEMBER, RoomRef(1, "a", RoomKind.AREA, archived=True), None, RoomLocked),
        (MODERATOR, RoomRef(1, "a", RoomKind.AREA, archived=True), None, RoomLocked),
        (MEMBER, AREA, Restriction(NOW + timedelta(minutes=5)), Muted),
        (OUTSIDER, AREA, None, Forbidden),
    ],
)
def test_check_post_refusals(
    actor: Actor, room: RoomRef, mute: Restriction | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        check_post(actor, room, None, mute, NOW)


def test_moderators_may_post_in_locked_rooms() -> None:
    check_post(ROOM_MOD, RoomRef(1, "a", RoomKind.AREA, locked=True), None, None, NOW)


@pytest.mark.parametrize("actor", [MEMBER, OUTSIDER, ROOM_MOD, MODERATOR, ADMIN])
@pytest.mark.parametrize("room", [AREA, OTHER_AREA, RoomRef(4, "area-c", RoomKind.AREA)])
def test_area_rooms_open_to_is_may_read_without_bans(actor: Actor, room: RoomRef) -> None:
    """What a query may narrow the area rooms to before `may_read` decides: exactly the
    area rooms the actor may read when not banned (None: every one)."""
    opened = area_rooms_open_to(actor)
    assert (opened is None or room.id in opened) == may_read(actor, room, None, NOW)


@pytest.mark.parametrize("kind", list(RoomKind))
def test_open_to_all_is_may_read_of_every_actor_without_bans(kind: RoomKind) -> None:
    """A room open to all: every actor of the table may read it unless banned; a room that
    is not: some actor may not."""
    room = RoomRef(1, "room", kind)
    actors = [MEMBER, OUTSIDER, ROOM_MOD, MODERATOR, ADMIN, Actor(16, "nel", Role.MEMBER)]
    readable = [may_read(actor, room, None, NOW) for actor in actors]
    assert all(readable) is open_to_all(room)


def _refused(
    actor: Actor, room: RoomRef, ban: Restriction | None, mute: Restriction | None
) -> bool:
    try:
        check_post(actor, room, ban, mute, NOW)
    except DomainError:
        return True
    return False


SANCTIONS = [None, BAN, EXPIRED, Restriction(NOW + timedelta(hours=1))]


@pytest.mark.parametrize("actor", [MEMBER, OUTSIDER, ROOM_MOD, MODERATOR, ADMIN])
@pytest.mark.parametrize(
    "room",
    [AREA, THEME, RoomRef(1, "area-a", RoomKind.AREA, locked=True),
     RoomRef(3, "theme", RoomKind.THEME, archived=True)],
)  # fmt: skip
@pytest.mark.parametrize("ban", SANCTIONS)
@pytest.mark.parametrize("mute", SANCTIONS)
def test_sanctions_bind_is_check_post_on_sanctions(
    actor: Actor, room: RoomRef, ban: Restriction | None, mute: Restriction | None
) -> None:
    """What the send's SQL re-checks (an active ban or mute, where `sanctions_bind`) refuses
    exactly the posts that `check_post` refuses beyond what it refuses with no sanction."""
    active = any(r is not None and r.active(NOW) for r in (ban, mute))
    expected = _refused(actor, room, None, None) or (active and sanctions_bind(actor, room))
    assert _refused(actor, room, ban, mute) == expected

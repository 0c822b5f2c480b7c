"""The pure rules of publications: consent decides the status, labels never name more."""

from __future__ import annotations

import pytest

from rooms.errors import BadRequest, Conflict, Forbidden
from rooms.model import Actor, Layer, Role, RoomKind, RoomRef
from rooms.publications import (
    Lesson,
    Status,
    check_lesson,
    check_quotes,
    check_withdraw,
    plain_text,
    public_author,
    search_words,
    status_after,
)

ROOM = RoomRef(7, "area-a", RoomKind.AREA)


@pytest.mark.parametrize(
    ("current", "answers", "expected"),
    [
        (Status.PENDING, [None, None], Status.PENDING),
        (Status.PENDING, [True, None], Status.PENDING),
        (Status.PENDING, [True, False], Status.PENDING),
        (Status.PENDING, [True, True], Status.PUBLISHED),
        (Status.PUBLISHED, [True, False], Status.PENDING),
        (Status.WITHDRAWN, [True, True], Status.WITHDRAWN),
        (Status.PENDING, [], Status.PENDING),
    ],
)
def test_status_follows_every_answer(
    current: Status, answers: list[bool | None], expected: Status
) -> None:
    """Published only when every listed author agreed; withdrawn stays withdrawn."""
    assert status_after(current, answers) is expected


def test_who_may_withdraw() -> None:
    """Listed authors, staff and the source room's moderators; nobody twice."""
    member = Actor(1, "ann", Role.MEMBER)
    room_mod = Actor(2, "rita", Role.MEMBER, moderated_room_ids=frozenset({7}))
    with pytest.raises(Forbidden):
        check_withdraw(member, Status.PUBLISHED, ROOM, listed=False)
    check_withdraw(member, Status.PUBLISHED, ROOM, listed=True)
    check_withdraw(room_mod, Status.PENDING, ROOM, listed=False)
    check_withdraw(Actor(3, "mo", Role.MODERATOR), Status.PENDING, None, listed=False)
    with pytest.raises(Conflict):
        check_withdraw(member, Status.WITHDRAWN, ROOM, listed=True)


def test_lesson_limits_and_cleaning() -> None:
    """Text is trimmed and bounded; layers are kept once each; quotes are needed."""
    lesson = check_lesson(
        Lesson(title="  Titel ", body="tekst", layers=(Layer.RIJK, Layer.RIJK, Layer.GEMEENTE))
    )
    assert lesson.title == "Titel" and lesson.layers == (Layer.RIJK, Layer.GEMEENTE)
    with pytest.raises(BadRequest):
        check_lesson(Lesson(title=" ", body="x"))
    with pytest.raises(BadRequest):
        check_lesson(Lesson(title="t", body="x", area="a" * 101))
    assert check_quotes([3, 1, 3]) == (3, 1)
    with pytest.raises(BadRequest):
        check_quotes([])
    with pytest.raises(BadRequest):
        check_quotes(range(1, 30))


def test_public_labels_and_search_words() -> None:
    """An author is organisation and layer, the name only when given."""
    assert public_author("Gemeente A", "Gemeente", None) == "Gemeente A (Gemeente)"
    assert public_author("", "Rijk", "Mo") == "Mo — Deelnemer (Rijk)"
    assert search_words("  Water  BODEM ") == ("water", "bodem")
    assert len(search_words("a " * 20)) == 8
    assert plain_text("<p>Peil &amp; <strong>bodem</strong></p>") == "Peil & bodem"

"""The pure rules: meetings in time, mentions, marks, and the rendered texts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rooms.errors import BadRequest, Conflict, Forbidden
from rooms.marks import (
    MarkKind,
    MarkState,
    check_fields,
    check_may_answer,
    check_may_mark,
    missing_layers,
    missing_notice,
    parse_due,
)
from rooms.meetings import (
    MeetingRef,
    default_due,
    listing_order,
    meeting_before,
    meeting_for_room,
    next_meeting,
    previous_meeting,
    window_start,
)
from rooms.mentions import excerpt, mentioned_usernames
from rooms.render import agenda_markdown, digest_html, dutch_date

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
OCT = MeetingRef(1, "okt", 1, datetime(2026, 10, 1, 10, tzinfo=UTC))
NOV = MeetingRef(2, "nov", 2, datetime(2026, 11, 5, 10, tzinfo=UTC))
DEC = MeetingRef(3, "dec", 1, datetime(2026, 12, 1, 10, tzinfo=UTC))
JAN = MeetingRef(4, "jan", 2, datetime(2027, 1, 12, 10, tzinfo=UTC))
ALL = [DEC, OCT, JAN, NOV]


def test_next_and_previous_meeting() -> None:
    """The next has not started; the previous has; a theme narrows both."""
    assert next_meeting(ALL, NOW) == DEC
    assert next_meeting(ALL, NOW, theme_id=2) == JAN
    assert previous_meeting(ALL, NOW) == NOV
    assert previous_meeting(ALL, NOW, theme_id=1) == OCT
    assert next_meeting([], NOW) is None and previous_meeting([OCT], OCT.starts_at) == OCT


def test_window_and_meeting_before() -> None:
    """Since the last meeting starts at the last meeting held; none held: from the start."""
    assert window_start(ALL, NOW) == NOV.starts_at
    assert window_start([DEC], NOW) is None
    assert meeting_before(ALL, DEC) == NOV and meeting_before(ALL, OCT) is None


def test_due_defaults_to_the_rooms_next_meeting() -> None:
    """A theme's own next meeting wins; otherwise the next meeting of all."""
    assert default_due(meeting_for_room(ALL, NOW, 2)) == date(2027, 1, 12)
    assert default_due(meeting_for_room(ALL, NOW, None)) == date(2026, 12, 1)
    assert default_due(meeting_for_room(ALL, NOW, 99)) == date(2026, 12, 1)
    assert default_due(None) is None


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("Klopt dat, @ann?", ["ann"]),
        ("Zie @Ann. En @bob, en @ann!", ["ann", "bob"]),
        ("„@ann” zei (@bob): @rita;", ["ann", "bob", "rita"]),
        ("@ann's voorstel", ["ann"]),
        ("mail ann@example.nl of https://x.nl/@bob", []),
        ("@a te kort, @jan.de-vries.", ["jan.de-vries"]),
        ("@@ann", []),
        ("e-mail: @mo…", ["mo"]),
    ],
)
def test_mentions_in_dutch_punctuation(body: str, names: list[str]) -> None:
    """Sentence punctuation ends a name; addresses and URLs are no mention."""
    assert mentioned_usernames(body) == names


def test_excerpt_cuts_at_a_word() -> None:
    """Long bodies become one line with an ellipsis."""
    text = excerpt("een  twee\ndrie " * 40, 30)
    assert text.endswith("…") and len(text) <= 31 and "\n" not in text


def test_mark_fields_and_kinds() -> None:
    """A besluit has no owner or due; dates are checked (kinds by the wire's MarkIn)."""
    assert parse_due("2026-12-01") == date(2026, 12, 1) and parse_due(None) is None
    with pytest.raises(BadRequest):
        parse_due("1 december")
    with pytest.raises(BadRequest):
        check_fields(MarkKind.BESLUIT, "ann", None)
    check_fields(MarkKind.ACTIEPUNT, "ann", "2026-12-01")


def test_who_may_change_a_mark() -> None:
    """Anyone marks an unmarked message; only marker, author or moderator change a mark."""
    existing = MarkState(MarkKind.VRAAG, marked_by=1, answered=False)
    check_may_mark(5, author_id=2, existing=None, moderator=False)
    check_may_mark(1, author_id=2, existing=existing, moderator=False)
    check_may_mark(2, author_id=2, existing=existing, moderator=False)
    check_may_mark(5, author_id=2, existing=existing, moderator=True)
    with pytest.raises(Forbidden):
        check_may_mark(5, author_id=2, existing=existing, moderator=False)


def test_who_may_answer() -> None:
    """Only a vraag is answered, by asker, marker or moderator, with a later message."""
    vraag = MarkState(MarkKind.VRAAG, marked_by=1, answered=False)
    check_may_answer(2, question_author=2, mark=vraag, moderator=False, reply_after_question=True)
    with pytest.raises(Conflict):
        check_may_answer(2, 2, MarkState(MarkKind.BESLUIT, 1, False), False, True)
    with pytest.raises(Conflict):
        check_may_answer(2, 2, None, False, True)
    with pytest.raises(Forbidden):
        check_may_answer(7, 2, vraag, False, True)
    with pytest.raises(BadRequest):
        check_may_answer(2, 2, vraag, False, False)


def test_missing_layers_notice() -> None:
    """The notice names the layers that have not answered, in Dutch."""
    assert missing_layers({"rijk", "provincie", "gemeente"}) == ["waterschap"]
    assert missing_notice(["waterschap"]) == "nog geen reactie van een waterschap"
    assert missing_notice(["rijk", "gemeente", "waterschap"]) == (
        "nog geen reactie van het Rijk, een gemeente of een waterschap"
    )
    assert missing_notice([]) == "alle overheidslagen hebben gereageerd"


def _item(text: str) -> dict[str, object]:
    return {
        "kind": "vraag",
        "excerpt": text,
        "room": "theme-one",
        "author": {"display_name": "Ann <Aalders>"},
        "owner": "amy",
        "due": "2026-12-01",
    }


MEETING = {"title": "Bijeenkomst één", "date": "2026-12-01T10:00:00.000Z", "place": "Tijnje"}


def test_agenda_markdown_is_inert() -> None:
    """Member text cannot inject headings, links or HTML into the exported agenda."""
    agenda = {
        "meeting": MEETING,
        "open_questions": [_item("# kop [link](x) <b>")],
        "action_items": [],
        "decisions": [],
    }
    text = agenda_markdown(agenda)
    assert text.startswith("# Open vragen en actiepunten voor de bijeenkomst van 1 december 2026")
    assert r"\# kop \[link\](x) \<b\>" in text
    assert "eigenaar: @amy; uiterlijk 1 december 2026" in text
    assert "## Actiepunten\n\n_Geen._" in text


def test_digest_html_escapes_member_text() -> None:
    """Bodies and names are escaped in the HTML digest."""
    room = {
        "slug": "theme-one",
        "name": "Thema <één>",
        "new_messages": 2,
        "mentions": [],
        "open_questions": [_item("<script>x</script>")],
        "action_items": [],
        "decisions": [],
        "new_members": [],
    }
    agenda = {"meeting": MEETING, "open_questions": [], "action_items": [], "decisions": []}
    page = digest_html("Ann & co", MEETING, {"rooms": [room]}, agenda, "https://w.example/")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Ann &amp; co" in page and "Thema &lt;één&gt;" in page
    assert dutch_date("2027-03-09") == "9 maart 2027"


def test_a_cancelled_meeting_is_no_ones_next_or_last() -> None:
    """Listed still, but the catch-up window, the agenda and marks pass it by."""
    dec_off = MeetingRef(3, "dec", 1, DEC.starts_at, cancelled=True)
    pool = [OCT, NOV, dec_off, JAN]
    assert next_meeting(pool, datetime(2026, 11, 20, tzinfo=UTC)) == JAN
    assert next_meeting(pool, datetime(2026, 11, 20, tzinfo=UTC), theme_id=1) is None
    assert window_start(pool, datetime(2026, 12, 20, tzinfo=UTC)) == NOV.starts_at
    assert meeting_before(pool, JAN) == NOV
    assert listing_order(pool, datetime(2026, 11, 20, tzinfo=UTC))[0] == dec_off

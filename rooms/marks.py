"""Questions, decisions and action items: what may be marked, by whom, and how it reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from rooms.errors import BadRequest, Conflict, Forbidden
from rooms.model import Layer


class MarkKind(StrEnum):
    VRAAG = "vraag"
    BESLUIT = "besluit"
    ACTIEPUNT = "actiepunt"


class ActionStatus(StrEnum):
    """An actiepunt's course; `gedaan` and `vervallen` take it off the agenda."""

    OPEN = "open"
    BEZIG = "bezig"
    GEDAAN = "gedaan"
    VERVALLEN = "vervallen"


# Still to do: on the agenda and in the catch-up.
ACTION_PENDING = (ActionStatus.OPEN.value, ActionStatus.BEZIG.value)
# Finished: listed once under "afgerond sinds de vorige bijeenkomst".
ACTION_FINISHED = (ActionStatus.GEDAAN.value, ActionStatus.VERVALLEN.value)


# Which fields a kind carries: a decision has no owner and is due nowhere.
TAKES_OWNER_AND_DUE = frozenset({MarkKind.VRAAG, MarkKind.ACTIEPUNT})
# The four layers of government the overview wants at the table.
GOVERNMENT_LAYERS = (Layer.RIJK, Layer.PROVINCIE, Layer.GEMEENTE, Layer.WATERSCHAP)
LAYER_PHRASE = {
    Layer.RIJK: "het Rijk",
    Layer.PROVINCIE: "een provincie",
    Layer.GEMEENTE: "een gemeente",
    Layer.WATERSCHAP: "een waterschap",
}
MAX_THEMES_PER_MESSAGE = 10


@dataclass(frozen=True, slots=True)
class MarkState:
    """An existing mark, as far as the rules below need it."""

    kind: MarkKind
    marked_by: int
    answered: bool


def parse_due(raw: object) -> date | None:
    """A due date as `YYYY-MM-DD`; absent or null means the default (the next meeting)."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadRequest("field 'due' must be a date like 2026-12-01")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"field 'due': {raw!r} is not a date like 2026-12-01") from None


def check_fields(kind: MarkKind, owner: object, due: object) -> None:
    if kind not in TAKES_OWNER_AND_DUE and (owner is not None or due is not None):
        raise BadRequest(f"a {kind.value} has no 'owner' or 'due'")


def check_may_mark(
    actor_id: int, author_id: int, existing: MarkState | None, moderator: bool
) -> None:
    """Anyone who may post marks an unmarked message; a mark is changed only by its marker,
    the message's author or a moderator."""
    if existing is None or moderator:
        return
    if actor_id not in (existing.marked_by, author_id):
        raise Forbidden("only who marked it, its author or a moderator may change this mark")


def check_may_answer(
    actor_id: int,
    question_author: int,
    mark: MarkState | None,
    moderator: bool,
    reply_after_question: bool,
) -> None:
    """A question is marked answered by its asker, its marker or a moderator, with a later reply."""
    if mark is None or mark.kind is not MarkKind.VRAAG:
        raise Conflict("only a message marked 'vraag' can be answered")
    if not (moderator or actor_id in (question_author, mark.marked_by)):
        raise Forbidden("only the asker, who marked the question or a moderator may do this")
    if not reply_after_question:
        raise BadRequest("the answer must be a later message in the same room")


def check_may_set_status(
    actor_id: int,
    mark: MarkState | None,
    owner_id: int | None,
    author_id: int,
    moderator: bool,
) -> None:
    """An actiepunt's status is changed by its owner, its author or a moderator."""
    if mark is None or mark.kind is not MarkKind.ACTIEPUNT:
        raise Conflict("only a message marked 'actiepunt' has a status")
    if not (moderator or actor_id in (owner_id, author_id)):
        raise Forbidden("only the owner, the author or a moderator may change this status")


def missing_layers(answered: set[str]) -> list[str]:
    """The government layers that have not answered yet, in a fixed order."""
    return [layer.value for layer in GOVERNMENT_LAYERS if layer.value not in answered]


def missing_notice(missing: list[str]) -> str:
    """Dutch: "nog geen reactie van een waterschap" (or of several layers)."""
    phrases = [LAYER_PHRASE[Layer(m)] for m in missing]
    if not phrases:
        return "alle overheidslagen hebben gereageerd"
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " of " + phrases[-1]
    return f"nog geen reactie van {listed}"

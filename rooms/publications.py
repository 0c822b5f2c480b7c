"""Publications for the public pages: what a lesson card holds, and when consent publishes it.

A publication is `pending` until every listed author has consented, then `published`; a
refusal keeps it pending (the author may still change their mind), and a withdrawal by a
listed author or a moderator makes it `withdrawn` for good. Only `published` is public.
"""

from __future__ import annotations

import html as entities
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

import nh3

from rooms import text
from rooms.access import may_moderate
from rooms.errors import BadRequest, Conflict, Forbidden
from rooms.model import Actor, Layer, RoomRef
from rooms.redact import Person, Redactor

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 4000
MAX_PART_CHARS = 4000
MAX_LABEL_CHARS = 100
# A lesson quotes a question with its answer, a decision with its context: a few messages.
MAX_QUOTES = 20


class Kind(StrEnum):
    LESSON = "lesson"
    REPORT = "report"


class Status(StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Lesson:
    """A lesson card as a moderator writes it: the contract's title and body, and the
    structured parts of the card (each may be left empty)."""

    title: str
    body: str
    context: str = ""
    worked: str = ""
    did_not_work: str = ""
    area: str = ""
    theme: str = ""
    layers: tuple[Layer, ...] = ()


def _bounded(value: str, name: str, limit: int, *, required: bool = False) -> str:
    cleaned = text.clean(value).strip()
    if required and not cleaned:
        raise BadRequest(f"field {name!r} must not be empty")
    if len(cleaned) > limit:
        raise BadRequest(f"field {name!r} is longer than {limit} characters")
    return cleaned


def check_lesson(lesson: Lesson) -> Lesson:
    """The lesson with its text cleaned and bounded, or `bad_request` naming the field."""
    return Lesson(
        title=_bounded(lesson.title, "title", MAX_TITLE_CHARS, required=True),
        body=_bounded(lesson.body, "body", MAX_BODY_CHARS, required=True),
        context=_bounded(lesson.context, "context", MAX_PART_CHARS),
        worked=_bounded(lesson.worked, "worked", MAX_PART_CHARS),
        did_not_work=_bounded(lesson.did_not_work, "did_not_work", MAX_PART_CHARS),
        area=_bounded(lesson.area, "area", MAX_LABEL_CHARS),
        theme=_bounded(lesson.theme, "theme", MAX_LABEL_CHARS),
        layers=tuple(dict.fromkeys(lesson.layers)),
    )


def check_quotes(message_ids: Iterable[int]) -> tuple[int, ...]:
    """The quoted message ids, each once, in the order given."""
    ids = tuple(dict.fromkeys(message_ids))
    if not ids:
        raise BadRequest("field 'message_ids' must name at least one message")
    if len(ids) > MAX_QUOTES:
        raise BadRequest(f"field 'message_ids' names more than {MAX_QUOTES} messages")
    return ids


def check_may_publish_from(actor: Actor, room: RoomRef) -> None:
    """A lesson is made by someone who moderates the room it quotes (staff, room moderator)."""
    if not may_moderate(actor, room):
        raise Forbidden(f"only moderators and admins may publish from room {room.slug}")


def check_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("only moderators and admins may do this")


def status_after(current: Status, consents: Iterable[bool | None]) -> Status:
    """The status once the authors' answers are `consents` (None: not answered yet)."""
    if current is Status.WITHDRAWN:
        return current
    answers = list(consents)
    return Status.PUBLISHED if answers and all(a is True for a in answers) else Status.PENDING


def check_consent_allowed(status: Status) -> None:
    if status is Status.WITHDRAWN:
        raise Conflict("this publication was withdrawn")


def check_withdraw(actor: Actor, status: Status, source: RoomRef | None, *, listed: bool) -> None:
    """Moderators (of the room it came from, or all), admins and listed authors may
    withdraw; only once."""
    if not (listed or actor.is_staff or (source is not None and may_moderate(actor, source))):
        raise Forbidden("only moderators, admins and listed authors may withdraw this")
    if status is Status.WITHDRAWN:
        raise Conflict("this publication was already withdrawn")


def public_author(organisation: str, layer: str, name: str | None) -> str:
    """How a public page names an author: organisation and layer, the name only if allowed."""
    who = organisation.strip() or "Deelnemer"
    label = f"{who} ({layer})"
    return f"{name} — {label}" if name else label


def layers_key(layers: Iterable[str]) -> str:
    """The layers as stored for filtering with one LIKE on every database: `,a,b,`."""
    return "," + ",".join(layers) + "," if layers else ""


def search_text(lesson: Lesson, quoted: Iterable[str], redact: Callable[[str], str] = str) -> str:
    """The published text alone, lower-cased: what the public search looks in. `redact`
    reduces names as the public pages do (so that a search cannot find a publication by a
    name its page does not show)."""
    parts = (lesson.title, lesson.body, lesson.context, lesson.worked, lesson.did_not_work)
    texts = [redact(t) for t in (*parts, *quoted) if t]
    return "\n".join([*texts, lesson.area, lesson.theme]).lower()


def search_words(query: str) -> tuple[str, ...]:
    """The words of a public search, lower-cased, at most eight of at most 100 characters."""
    return tuple(w[:100] for w in text.clean(query).lower().split()[:8])


def plain_text(html: str) -> str:
    """Sanitised HTML as the plain text it shows (for summaries, the feed and search)."""
    return entities.unescape(nh3.clean(html, tags=set())).strip()


def redactor_of(people: Iterable[tuple[str, str, str, str]]) -> Redactor:
    """The public pages' name reducer for these accounts (username, display name,
    organisation, layer): each known person becomes their public label."""
    return Redactor(
        Person(u, name, public_author(org, layer.capitalize(), None))
        for u, name, org, layer in people
    )

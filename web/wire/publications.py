"""Publications for the public pages: a lesson card or a verslag, and each author's consent."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rooms.model import Layer
from rooms.publications import MAX_QUOTES
from web.wire import Body, Id, Moment, Query, Slug, Struct, envelope

# Checked and trimmed again by `rooms.publications.check_lesson`; these bound the decoding.
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
Label = Annotated[str, msgspec.Meta(max_length=400)]


class PublicationIn(Body):
    """`{"kind":"lesson","title","body","room","message_ids"}` (with the card's optional
    structured parts) or `{"kind":"report","meeting"}`."""

    kind: Literal["lesson", "report"]
    title: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    body: Text | None = None
    room: Slug | None = None
    message_ids: Annotated[list[Id], msgspec.Meta(max_length=MAX_QUOTES * 5)] | None = None
    meeting: Slug | None = None
    context: Text = ""
    worked: Text = ""
    did_not_work: Text = ""
    area: Label = ""
    theme: Label = ""
    layers: Annotated[list[Layer], msgspec.Meta(max_length=5)] = msgspec.field(default_factory=list)


class ConsentIn(Body):
    consent: bool
    show_name: bool = False


class PublicationsQuery(Query):
    mine: Literal["pending", "listed", "created"] = "pending"


class ListedAuthor(Struct):
    username: str
    consent: bool | None
    display_name: str = ""
    organisation: str = ""
    layer: str = ""
    show_name: bool = False


class QuotedMessage(Struct):
    message_id: int
    author: str
    body: str
    created_at: Moment


class ConsentAnswer(Struct):
    consent: bool | None
    show_name: bool


class Publication(Struct):
    id: int
    kind: Literal["lesson", "report"]
    title: str
    status: Literal["pending", "published", "withdrawn"]
    authors: list[ListedAuthor]
    body: str = ""
    context: str = ""
    worked: str = ""
    did_not_work: str = ""
    area: str = ""
    theme: str = ""
    layers: list[str] = msgspec.field(default_factory=list)
    room: str | None = None
    meeting: str | None = None
    quotes: list[QuotedMessage] = msgspec.field(default_factory=list)
    created_at: Moment = ""
    published_at: Moment | None = None
    withdrawn_at: Moment | None = None
    url: str | None = None
    mine: ConsentAnswer | None = None


PublicationOut = envelope("PublicationOut", publication=Publication)
Publications = envelope("Publications", publications=list[Publication])

"""The person picker's search."""

from __future__ import annotations

from typing import Annotated

import msgspec

from rooms.people import MAX_PEOPLE, MAX_QUERY_CHARS
from web.wire import Author, Query, Slug, envelope


class PeopleQuery(Query):
    """`q`: part of a display name, username or organisation; `room`: only who reads it."""

    q: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_QUERY_CHARS)]
    room: Slug | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PEOPLE)] = MAX_PEOPLE


People = envelope("People", people=list[Author])

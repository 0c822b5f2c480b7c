"""A message's author as the reads hand it over: the send path, the backlog and search."""

from __future__ import annotations

import msgspec

from persistence.models import Member, User


class AuthorRow(msgspec.Struct, frozen=True, gc=False):
    """A message's author as stored."""

    username: str
    display_name: str
    organisation: str
    layer: str


def author_row(user: User | Member) -> AuthorRow:
    return AuthorRow(user.username, user.display_name, user.organisation, user.layer)

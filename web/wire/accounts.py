"""Accounts: invitations, passwords, the admins' user list, and the caller's own data."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from web.wire import Body, Moment, Query, Slug, Struct, User, envelope
from web.wire.session import Email

Layer = Literal["rijk", "provincie", "gemeente", "waterschap", "overig"]
Role = Literal["member", "moderator", "admin"]
Text = Annotated[str, msgspec.Meta(max_length=200)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# Checked for length and commonness by web.passwords.check_new_password.
Password = Annotated[str, msgspec.Meta(max_length=1024)]
# A one-time token as the server makes them (secrets.token_urlsafe(32)).
Token = Annotated[str, msgspec.Meta(min_length=16, max_length=128, pattern="^[A-Za-z0-9_-]+$")]
Areas = Annotated[list[Slug], msgspec.Meta(max_length=100)]


class InviteIn(Body):
    email: Email
    organisation: Text = ""
    layer: Layer = "overig"
    areas: Areas = msgspec.field(default_factory=list)
    role: Role = "member"
    display_name: Text = ""


class NewInvitation(Struct):
    id: int
    url: str
    expires_at: Moment


InvitationCreated = envelope("InvitationCreated", invitation=NewInvitation)


class InvitationInfo(Struct):
    email: str
    organisation: str
    layer: str
    areas: list[str]
    display_name: str
    # Set when the invitation is for an account that exists already (made by `load`).
    username: str | None = None


InvitationShown = envelope("InvitationShown", invitation=InvitationInfo)


class AcceptIn(Body):
    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Password
    display_name: Text = ""


class PasswordIn(Body):
    current: Password
    new: Password


class UserPatch(Body):
    """Any of these; a field left out stays as it is."""

    disabled: bool | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    areas: Areas | msgspec.UnsetType = msgspec.UNSET
    display_name: Name | msgspec.UnsetType = msgspec.UNSET
    organisation: Text | msgspec.UnsetType = msgspec.UNSET
    layer: Layer | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class AccountUser(User):
    """A user as admins see them."""

    email: str | None
    disabled: bool
    areas: list[str]
    moderates: list[str]


AccountUserOut = envelope("AccountUserOut", user=AccountUser)
Users = envelope("Users", users=list[AccountUser])


class UsersQuery(Query):
    q: Annotated[str, msgspec.Meta(max_length=100)] = ""
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100


class ResetRequestIn(Body):
    email: Email


class ResetIn(Body):
    token: Token
    password: Password


class SsoProvider(Struct):
    name: str
    display_name: str
    login_url: str


SsoProviders = envelope("SsoProviders", providers=list[SsoProvider])

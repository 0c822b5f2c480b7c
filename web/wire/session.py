"""Health, session and the caller's own settings."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from web.wire import Body, Query, Struct, User, envelope


class Status(Struct):
    status: str


class Ready(Status):
    database: bool | None = None
    broker: bool | None = None


class LoginIn(msgspec.Struct, kw_only=True):
    """Login; more fields are ignored."""

    username: Annotated[str, msgspec.Meta(max_length=256)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class LoginOut(Struct):
    token: str
    user: User


Me = envelope("Me", user=User)


# Deliberately loose: one @, no spaces or control characters, a dot in the domain; the mail
# server judges the rest.
_ADDRESS_CHAR = r"[^@\s\x00-\x1f\x7f-\x9f]"
EMAIL_PATTERN = rf"^{_ADDRESS_CHAR}{{1,64}}@{_ADDRESS_CHAR}+\.{_ADDRESS_CHAR}+$"
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=EMAIL_PATTERN)]


class PreferencesIn(Body):
    """Any of these; a field left out stays as it is."""

    digest: bool | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    # The member's own profile (web.actions.accounts.update_profile).
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    organisation: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    layer: Literal["rijk", "provincie", "gemeente", "waterschap", "overig"] | msgspec.UnsetType = (
        msgspec.UNSET
    )


class PreferenceValues(Struct):
    digest: bool
    email: str | None


class Preferences(Struct):
    user: User
    preferences: PreferenceValues


class UnsubscribeQuery(Query):
    token: Annotated[str, msgspec.Meta(min_length=1)]


Unsubscribed = envelope("Unsubscribed", digest=bool)


class DemoLogin(Struct):
    username: str
    password: str
    about: str


DemoLogins = envelope("DemoLogins", logins=list[DemoLogin])

"""Notification levels and Web Push subscriptions (docs/notifications.md)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from rooms.notify import Level
from web.wire import Body, Struct, envelope

# A push service's address; browsers' are well under 1 KiB.
Endpoint = Annotated[str, msgspec.Meta(min_length=9, max_length=2048)]
# base64url of a 65-byte P-256 point (87 characters, 88 padded) and of 16 bytes (22, 24).
P256dh = Annotated[str, msgspec.Meta(min_length=86, max_length=88, pattern="^[A-Za-z0-9_=-]+$")]
Auth = Annotated[str, msgspec.Meta(min_length=21, max_length=24, pattern="^[A-Za-z0-9_=-]+$")]


class LevelIn(Body):
    level: Level


class Keys(Body):
    p256dh: P256dh
    auth: Auth


class SubscriptionIn(Body):
    endpoint: Endpoint
    keys: Keys


class EndpointIn(Body):
    endpoint: Endpoint


class RoomLevel(Struct):
    room: str
    level: Level


class Levels(Struct):
    """The caller's chosen levels by room slug; a room not listed has `default`."""

    levels: dict[str, Level]
    default: Level
    push: bool
    # Whether unseen mentions and actiepunten go out by e-mail (the unsubscribe link and
    # `PATCH /api/me/notifications` turn it off and on).
    mail: bool


PushKey = envelope("PushKey", key=str)
Subscribed = envelope("Subscribed", endpoint=str)
MailOff = envelope("MailOff", mail=bool)


class MailIn(Body):
    mail: bool

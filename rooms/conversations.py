"""Conversations as people expect them: reactions, topics and direct conversations.

Pure rules, no storage: what counts as one emoji, what a topic may be, which slug a
direct conversation of a set of people has, and who may open one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

import emoji

from rooms.access import may_moderate
from rooms.errors import BadRequest, Forbidden
from rooms.mentions import mentioned_usernames
from rooms.model import USERNAME_RE, Actor, Layer, RoomKind, RoomRef
from rooms.text import clean as clean_text

# The contract's bound on one reaction: one emoji of at most 16 bytes of UTF-8.
MAX_EMOJI_BYTES = 16
# The row the client offers first; any other single emoji is allowed too.
DEFAULT_REACTIONS = ("👍", "❤️", "😄", "🎉", "🤔", "👀", "✅")
MAX_TOPIC_CHARS = 60
# A direct conversation is between the caller and 1 to 9 others (the contract's bound).
MAX_DIRECT_OTHERS = 9
DIRECT_PREFIX = "direct-"


def is_one_emoji(text: str) -> bool:
    """Whether the text is exactly one emoji (a sequence such as 👍🏽 or a flag counts as
    one) of at most `MAX_EMOJI_BYTES`; text, two emoji or padding is not."""
    return (
        0 < len(text.encode("utf-8")) <= MAX_EMOJI_BYTES
        and text == text.strip()
        and emoji.is_emoji(text)
    )


def clean_topic(raw: str | None) -> str | None:
    """A topic as stored: cleaned of invisible controls and trimmed, 1..60 characters;
    None for no topic (None or only spaces); BadRequest when too long."""
    if raw is None:
        return None
    topic = " ".join(clean_text(raw).split())
    if not topic:
        return None
    if len(topic) > MAX_TOPIC_CHARS:
        raise BadRequest(f"topic is over {MAX_TOPIC_CHARS} characters")
    return topic


def direct_others(caller: str, usernames: list[str]) -> list[str]:
    """The other members of a direct conversation, sorted and once each; BadRequest for
    none, more than `MAX_DIRECT_OTHERS`, the caller alone, or a malformed name."""
    others = sorted({name.lower() for name in usernames} - {caller})
    if any(not USERNAME_RE.fullmatch(name) for name in others):
        raise BadRequest("usernames: each must be a username")
    if not others:
        raise BadRequest("usernames: name at least one other person")
    if len(others) > MAX_DIRECT_OTHERS:
        raise BadRequest(f"usernames: at most {MAX_DIRECT_OTHERS} others")
    return others


def direct_slug(user_ids: list[int]) -> str:
    """The slug of the direct conversation of exactly these users: the same for the same
    set in any order, and telling nothing about who they are without the database."""
    key = ",".join(str(i) for i in sorted(set(user_ids)))
    return DIRECT_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]


def direct_name(display_names: list[str]) -> str:
    """The name a direct conversation is listed with: its members' names."""
    return ", ".join(sorted(display_names))[:200]


# Group mentions: a layer's members who may read the room, or (`@gebied`) an area room's team.
AREA_GROUP = "gebied"
LAYER_GROUPS = frozenset(layer.value for layer in Layer if layer is not Layer.OVERIG)
GROUPS = LAYER_GROUPS | {AREA_GROUP}


def mentioned_groups(body: str) -> list[str]:
    """The groups the body calls on (`@waterschap`, `@gebied`), in order, each once."""
    return [name for name in mentioned_usernames(body) if name in GROUPS]


def mentions_reader(names: Collection[str], username: str, layer: str, area_team: bool) -> bool:
    """Whether a message that mentions `names` (`mentioned_usernames`) mentions this reader
    of its room: by name, through their layer (`@waterschap`), or (`area_team`: an area
    room whose team they are in) through `@gebied`. The room list's unread mentions, the
    `activity` frame and the catch-up page count with this, as the `mention` frame reaches."""
    return (
        username.lower() in names
        or (layer in LAYER_GROUPS and layer in names)
        or (area_team and AREA_GROUP in names)
    )


def check_group_mention(actor: Actor, room: RoomRef, body: str, asks: bool = False) -> None:
    """In a theme room only moderators, and the author of a message marked vraag (`asks`),
    may call on a group: a whole layer is many people's attention."""
    if room.kind is not RoomKind.THEME or asks or may_moderate(actor, room):
        return
    groups = mentioned_groups(body)
    if groups:
        raise Forbidden(
            f"only moderators, or the author of a question (vraag), may call on @{groups[0]} "
            f"in theme room {room.slug}"
        )

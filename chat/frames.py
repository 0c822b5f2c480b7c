"""The server's WebSocket frames as typed structs, and the one way a stored event becomes one.

Every room event the server sends, live, in a backlog, in the events API or as the sender's
own `message`, is `event_frame` of a `persistence.events.StoredEvent`. Fields that the
contract shows as `null` are required here, so that they are always encoded; only the ones
it lets be absent (`edited_at`, `hidden`, `ref`, `retry_after`, `first_seq`) are omitted
when unset. `schema` is the JSON Schema of all frames, both ways, served at `/ws-schema.json`.
"""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from msgspec import UNSET, UnsetType

from chat import protocol
from persistence.authors import AuthorRow
from persistence.events import StoredEvent
from persistence.handshake import RoomListing
from persistence.mentions import Mentioned
from rooms.markdown import message_html


class Author(msgspec.Struct):
    """A user as `message`, `typing` and `mention` frames show them."""

    username: str
    display_name: str
    organisation: str
    layer: str


class HelloUser(Author):
    role: str


class ServerFrame(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    pass


class RoomEvent(ServerFrame):
    room: str
    seq: int


class FileInfo(msgspec.Struct):
    """An attachment as a `message` frame shows it (download: GET /api/files/{id})."""

    id: int
    name: str
    size: int
    type: str


class MessageFrame(RoomEvent, tag="message"):
    message_id: int
    author: Author | None
    body: str | None
    created_at: str | None
    client_id: str | None
    reply_to: int | None
    topic: str | None
    # emoji: usernames, as they are now (live: none yet)
    reactions: dict[str, list[str]]
    edited_at: str | None = None
    hidden: bool = False
    # Only on a message that has files (and is not hidden).
    files: list[FileInfo] = msgspec.field(default_factory=list)
    # The body's Markdown as sanitised HTML; only when it has marks (rooms.markdown).
    html: str | None = None


class MessageEdited(RoomEvent, tag="message_edited"):
    message_id: int
    body: str | None
    edited_at: str | None
    html: str | None = None


class ByEvent(RoomEvent):
    """A room event whose data names who caused it; stored data keys become the fields."""

    message_id: int | UnsetType = UNSET
    by: str | UnsetType = UNSET


class MessageHidden(ByEvent, tag="message_hidden"):
    reason: str | UnsetType = UNSET


class RoomUpdated(ByEvent, tag="room_updated"):
    topic: str | UnsetType | None = UNSET
    locked: bool | UnsetType = UNSET
    archived: bool | UnsetType = UNSET
    slow_mode_seconds: int | UnsetType = UNSET


class MessagePinned(ByEvent, tag="message_pinned"):
    pass


class MessageUnpinned(ByEvent, tag="message_unpinned"):
    pass


class MessageMarked(ByEvent, tag="message_marked"):
    kind: str | UnsetType = UNSET
    owner: str | UnsetType | None = UNSET
    due: str | UnsetType | None = UNSET


class MessageUnmarked(ByEvent, tag="message_unmarked"):
    pass


class QuestionAnswered(ByEvent, tag="question_answered"):
    reply_id: int | UnsetType = UNSET


class MessageTagged(ByEvent, tag="message_tagged"):
    themes: list[str] | UnsetType = UNSET


class ActionStatusChanged(ByEvent, tag="action_status_changed"):
    """An actiepunt's course changed: open, bezig, gedaan or vervallen."""

    status: str | UnsetType = UNSET


class MeetingChanged(ByEvent, tag="meeting_changed"):
    """The meeting of this room as it is after an admin's change."""

    meeting: dict[str, Any] | UnsetType = UNSET


class MeetingReportPublished(ByEvent, tag="meeting_report_published"):
    """A meeting's verslag was published; in the meeting room and its theme's room."""

    meeting: str | UnsetType = UNSET
    title: str | UnsetType = UNSET


class Reactions(ByEvent, tag="reactions"):
    """A message's whole set of reactions after a change (replayed: as it is now)."""

    reactions: dict[str, list[str]] | UnsetType = UNSET


class PollVotes(ByEvent, tag="poll_votes"):
    """A poll's results after a vote (an anonymous poll's name no voter and no `votes`)."""

    poll_id: int | UnsetType = UNSET
    counts: list[int] | UnsetType = UNSET
    voters: int | UnsetType = UNSET
    votes: dict[str, list[str]] | UnsetType = UNSET


class PollCreated(PollVotes, tag="poll_created"):
    question: str | UnsetType = UNSET
    options: list[str] | UnsetType = UNSET
    multiple: bool | UnsetType = UNSET
    anonymous: bool | UnsetType = UNSET
    closes_at: str | UnsetType | None = UNSET
    closed: bool | UnsetType = UNSET


class TopicRenamed(ByEvent, tag="topic_renamed"):
    """A moderator renamed a topic (or merged it into another: `new` existed already)."""

    old: str | UnsetType = UNSET
    new: str | UnsetType = UNSET


class Restored(ByEvent, tag="restored"):
    """The database was restored from a backup (`werkplaats restore`): the room's seqs after
    `after` and before this event's were handed out before the loss and are not the room's;
    they are never used again. A client holding seqs after `after` drops them."""

    after: int | UnsetType = UNSET


DataEvent = (
    MessageHidden
    | RoomUpdated
    | MessagePinned
    | MessageUnpinned
    | MessageMarked
    | MessageUnmarked
    | QuestionAnswered
    | MessageTagged
    | ActionStatusChanged
    | MeetingChanged
    | MeetingReportPublished
    | Reactions
    | TopicRenamed
    | PollCreated
    | PollVotes
    | Restored
)
EventFrame = MessageFrame | MessageEdited | DataEvent
# the stored data's keys are the frame's fields
_DATA_EVENTS: dict[str, type[ByEvent]] = {
    str(kind.__struct_config__.tag): kind for kind in get_args(DataEvent)
}


class Ack(ServerFrame, tag="ack"):
    client_id: str
    message_id: int
    seq: int
    room: str
    ref: str | None = None


class Subscribed(ServerFrame, tag="subscribed"):
    room: str
    last_seq: int
    truncated: bool
    first_seq: int | None = None
    ref: str | None = None
    # The subscriber's own posting state: the end of their mute (ISO-8601; absent when not
    # muted, or when they moderate the room), and the room's slow mode (absent when off).
    muted_until: str | None = None
    slow_mode_seconds: int = 0
    # `since` lay beyond the room's last_seq (a database restored from a backup): the
    # client's events after last_seq are not the room's; it drops them and goes on from here.
    reset: bool = False


class Error(ServerFrame, tag="error"):
    code: str
    message: str
    ref: str | None = None
    retry_after: float | None = None


class Pong(ServerFrame, tag="pong"):
    ref: str | None = None


class Hello(ServerFrame, tag="hello"):
    user: HelloUser
    rooms: list[RoomListing]


class ReadMarker(ServerFrame, tag="read"):
    room: str
    seq: int


class Presence(ServerFrame, tag="presence"):
    room: str
    online: list[str]


class TypingNotice(ServerFrame, tag="typing"):
    room: str
    user: Author


class Removed(ServerFrame, tag="removed"):
    room: str
    reason: str


class RoomAdded(ServerFrame, tag="room_added"):
    """The user may read a room that is new to them (a direct conversation opened with them)."""

    room: str
    kind: str


class Mention(ServerFrame, tag="mention"):
    room: str
    message_seq: int
    message_id: int
    author: Author | None
    excerpt: str
    created_at: str | None
    # the group through which the user is mentioned (`waterschap`, `gebied`), if any
    via: str | None = None


class Notice(ServerFrame, tag="notice"):
    """A note for one user about a meeting they registered for (a change, a move up)."""

    kind: str
    meeting: str
    title: str
    body: str
    url: str


class Activity(ServerFrame, tag="activity"):
    """New messages in a room the connection may read but is not subscribed to: the seqs
    of those by others (`unread`) and of those that mention the reader (`mentions`), up to
    `last_seq`. `resync`: too many to list; read the room list again."""

    room: str
    last_seq: int
    unread: list[int]
    mentions: list[int] = msgspec.field(default_factory=list)
    resync: bool = False


class Muted(ServerFrame, tag="muted"):
    """The user's own mute in a room began (`until`, ISO-8601, and the moderator's
    `reason`) or ended (`until` null); to every connection of that user."""

    room: str
    until: str | None
    reason: str | None = None


class MeetingUpdated(ServerFrame, tag="meeting_updated"):
    """A meeting or its registrations changed, for every connection (every participant may
    read every meeting): an open meeting page reads it again instead of polling."""

    meeting: str
    counts: dict[str, Any]


class PublicationRequest(ServerFrame, tag="publication_request"):
    """A publication listing the user changed: asked for their consent (`requested`), an
    author answered (`answered`), it went public (`published`) or off again
    (`unpublished`), or it was withdrawn (`withdrawn`); to every connection of each listed
    author, so that the badge and the page "Verzoeken om te delen" follow at once. It
    carries no text: the client reads `GET /api/publications` again."""

    publication: int
    change: str
    status: str


AnyServerFrame = (
    (
        EventFrame
        | Ack
        | Subscribed
        | Error
        | Pong
        | Hello
        | ReadMarker
        | Presence
        | TypingNotice
        | Removed
    )
    | Mention
    | Notice
    | RoomAdded
    | Activity
    | Muted
    | MeetingUpdated
    | PublicationRequest
)


def event_frame(slug: str, ev: StoredEvent) -> RoomEvent:
    """The frame of a stored event as it is served now: hidden text is never in it."""
    if ev.type == "message" and ev.joined:
        return MessageFrame(
            room=slug,
            seq=ev.seq,
            message_id=ev.message_id or 0,
            author=author(ev.author),
            body=None if ev.hidden else ev.body,
            created_at=ev.created_at,
            client_id=ev.client_id,
            reply_to=ev.reply_to,
            topic=ev.topic,
            reactions=ev.reactions or {},
            edited_at=None if ev.hidden else ev.edited_at,
            hidden=ev.hidden,
            files=[] if ev.hidden or not ev.data else _files(ev.data),
            html=_html(ev),
        )
    if ev.type == "message_edited" and ev.joined:
        # The body of an edit is the message's current one; hidden text is never served.
        return MessageEdited(
            room=slug,
            seq=ev.seq,
            message_id=ev.message_id or 0,
            body=None if ev.hidden else ev.body,
            edited_at=ev.data.get("edited_at"),
            html=_html(ev),
        )
    kind = _DATA_EVENTS[ev.type]
    if ev.type == "reactions" and ev.reactions is not None:
        # Read back with the message: its set as it is now, as a replayed `message` shows;
        # of a hidden message neither the set nor who changed it.
        by = UNSET if ev.hidden else ev.data.get("by", UNSET)
        return Reactions(
            room=slug, seq=ev.seq, message_id=ev.message_id or 0, by=by, reactions=ev.reactions
        )
    if ev.message_id is None:
        return kind(room=slug, seq=ev.seq, **ev.data)
    return kind(room=slug, seq=ev.seq, message_id=ev.message_id, **ev.data)


def _html(ev: StoredEvent) -> str | None:
    return None if ev.hidden or not ev.body else message_html(ev.body)


def _files(data: dict[str, Any]) -> list[FileInfo]:
    """The files a `message` event's stored data lists."""
    return msgspec.convert(data.get("files", []), list[FileInfo])


def author(row: AuthorRow | None) -> Author | None:
    """A stored author as frames show them."""
    if row is None:
        return None
    return Author(row.username, row.display_name, row.organisation, row.layer)


def mention(found: Mentioned) -> Mention:
    """The `mention` frame of a mentioned user: no `seq`, since it is no room stream event
    and must not move a client's seq."""
    return Mention(
        room=found.room,
        message_seq=found.message_seq,
        message_id=found.message_id,
        author=author(found.author),
        excerpt=found.excerpt,
        created_at=found.created_at,
        via=found.via,
    )


def event_dict(slug: str, ev: StoredEvent) -> dict[str, Any]:
    """`event_frame` as plain JSON values, for bodies that add fields around it."""
    built: dict[str, Any] = msgspec.to_builtins(event_frame(slug, ev))
    return built


def error(
    code: str, message: str, ref: str | None = None, retry_after: float | None = None
) -> Error:
    """An `error` frame; `retry_after` in seconds, to the millisecond."""
    assert code in protocol.ERROR_CODES, code
    return Error(
        code=code,
        message=message,
        ref=ref,
        retry_after=None if retry_after is None else round(retry_after, 3),
    )


_encoder = msgspec.json.Encoder()


def encode(frame: ServerFrame) -> str:
    """A server frame as compact JSON text (no raw newline, so frames can be joined)."""
    return _encoder.encode(frame).decode()


def schema() -> dict[str, Any]:
    """A JSON Schema of every frame of `/ws`: `client` and `server` name the two unions."""
    (client, server), components = msgspec.json.schema_components(
        [protocol.ClientFrame, AnyServerFrame], ref_template="#/$defs/{name}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Werkplaats /ws frames",
        "anyOf": [client, server],
        "$defs": {**components, "ClientFrame": client, "ServerFrame": server},
    }

"""The WebSocket frames of the wire contract: parsing and encoding, no I/O.

A client message is one JSON object with a `type`. `parse` turns the text into one of the
frame structs below or raises `ProtocolError` carrying the contract's error code and, when
the frame had a usable one, its `ref` (so that the error can echo it). A server message is
one frame or several joined by `\\n` (compact JSON never contains a raw newline).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from rooms.conversations import MAX_EMOJI_BYTES, MAX_TOPIC_CHARS, clean_topic, is_one_emoji
from rooms.errors import BadRequest
from rooms.files import MAX_FILES_PER_MESSAGE
from rooms.model import MAX_BODY_CHARS, MAX_CLIENT_ID_CHARS
from rooms.text import clean as clean_text

MAX_REF_CHARS = 64
MAX_SEQ = 2**62
# A body is limited after trimming; this bounds the untrimmed text a frame may carry.
MAX_RAW_BODY_CHARS = 4 * MAX_BODY_CHARS

ERROR_CODES = frozenset(
    {
        "bad_frame",
        "too_large",
        "forbidden",
        "not_found",
        "rate_limited",
        "muted",
        "room_locked",
        "conflict",
        "internal",
    }
)


class ProtocolError(Exception):
    """A client frame the server refuses, with the contract's `error.code`."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        assert code in ERROR_CODES, code
        self.code = code
        self.message = message
        self.ref = ref


Room = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
Ref = Annotated[str, msgspec.Meta(max_length=MAX_REF_CHARS)]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CLIENT_ID_CHARS)]
Body = Annotated[str, msgspec.Meta(max_length=MAX_RAW_BODY_CHARS)]
# message ids are integers on the wire; a digit string is accepted too (JavaScript clients).
MessageRef = int | Annotated[str, msgspec.Meta(max_length=20)]
FileId = Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]


class Frame(msgspec.Struct, tag_field="type", kw_only=True):
    ref: Ref | None = None


class Subscribe(Frame, tag="subscribe"):
    room: Room
    since: Seq | None = None


class Unsubscribe(Frame, tag="unsubscribe"):
    room: Room


class Send(Frame, tag="send"):
    room: Room
    body: Body
    client_id: ClientId
    reply_to: MessageRef | None = None
    # Attachments uploaded by the sender to this room and not yet used (docs/files.md).
    files: Annotated[list[FileId], msgspec.Meta(max_length=MAX_FILES_PER_MESSAGE)] = []
    # 1..60 characters after trimming (rooms.conversations); bounded raw like the body.
    topic: Annotated[str, msgspec.Meta(max_length=4 * MAX_TOPIC_CHARS)] | None = None


class Edit(Frame, tag="edit"):
    room: Room
    message_id: MessageRef
    body: Body


class Retract(Frame, tag="retract"):
    room: Room
    message_id: MessageRef


class React(Frame, tag="react"):
    room: Room
    message_id: MessageRef
    # one emoji (checked by `emoji_of`); the raw bound keeps a hostile frame small
    emoji: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EMOJI_BYTES)]
    on: bool


class Typing(Frame, tag="typing"):
    room: Room


class Read(Frame, tag="read"):
    room: Room
    seq: Seq


class Ping(Frame, tag="ping"):
    pass


ClientFrame = Subscribe | Unsubscribe | Send | Edit | Retract | React | Typing | Read | Ping
FRAME_TYPES = ("subscribe", "unsubscribe", "send", "edit", "retract", "react", "typing", "read",
               "ping")  # fmt: skip

_frame_decoder = msgspec.json.Decoder(ClientFrame)
_any_decoder = msgspec.json.Decoder()


def _ref_of(obj: dict[str, Any]) -> str | None:
    ref = obj.get("ref")
    return ref if isinstance(ref, str) and len(ref) <= MAX_REF_CHARS else None


def parse(text: str | bytes) -> ClientFrame:
    """One client frame from its JSON text; `ProtocolError` says what was wrong."""
    try:
        # One pass straight into the frame's struct: a valid frame (nearly all of them)
        # costs a third of decoding to dicts and converting those.
        frame: ClientFrame = _frame_decoder.decode(text)
        return frame
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass  # decoded again below, to say exactly what was wrong
    try:
        obj = _any_decoder.decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise ProtocolError("bad_frame", "not valid JSON") from None
    except RecursionError:
        # msgspec recurses per nesting level; a frame nested ~1000 deep is hostile, not JSON
        # we accept, and must not take the connection down.
        raise ProtocolError("bad_frame", "JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_frame", f"expected a JSON object, got {type(obj).__name__}")
    ref = _ref_of(obj)
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in FRAME_TYPES:
        raise ProtocolError(
            "bad_frame",
            f"unknown frame type {kind!r}; expected one of {', '.join(FRAME_TYPES)}",
            ref,
        )
    try:
        converted: ClientFrame = msgspec.convert(obj, ClientFrame)
    except msgspec.ValidationError as exc:
        raise ProtocolError("bad_frame", f"{kind}: {exc}", ref) from None
    return converted


def message_id(value: int | str, ref: str | None, field: str = "message_id") -> int:
    """A message id from an int or a digit string."""
    if isinstance(value, int):
        if 0 < value <= MAX_SEQ:
            return value
    elif value.isascii() and value.isdigit() and 0 < int(value) <= MAX_SEQ:
        return int(value)
    raise ProtocolError("bad_frame", f"{field} must be a positive integer", ref)


def clean_body(body: str, ref: str | None) -> str:
    """The body cleaned of bidi and invisible controls and trimmed; empty is a bad frame."""
    trimmed = clean_text(body).strip()
    if not trimmed:
        raise ProtocolError("bad_frame", "body is empty", ref)
    if len(trimmed) > MAX_BODY_CHARS:
        raise ProtocolError("too_large", f"body is over {MAX_BODY_CHARS} characters", ref)
    return trimmed


def split(message: str) -> list[dict[str, Any]]:
    """The frames of one server message (clients split on newlines)."""
    return [_any_decoder.decode(line) for line in message.split("\n") if line.strip()]


def emoji_of(text: str, ref: str | None) -> str:
    """A reaction's emoji: exactly one emoji of at most 16 bytes, else a bad frame."""
    if not is_one_emoji(text):
        raise ProtocolError(
            "bad_frame", f"emoji must be one emoji of at most {MAX_EMOJI_BYTES} bytes", ref
        )
    return text


def topic_of(raw: str | None, ref: str | None) -> str | None:
    """A send's topic cleaned and trimmed (None without one); over 60 characters is a bad frame."""
    try:
        return clean_topic(raw)
    except BadRequest as exc:
        raise ProtocolError("bad_frame", exc.message, ref) from None

"""Opaque paging cursors: the sort key and message id of the last hit, bound to one search.

A cursor is base64url of compact JSON: `{"k": key, "i": message_id, "f": fingerprint}`,
with `"s": span` when the search pages through spans of ids of that size (engine.py),
and `"b": bucket` when the next page starts at the top of one.
The key is the relevance score (a float, exact through JSON) or the creation time in
microseconds since the epoch; the id breaks ties, so every hit has one place in the order
and the next page starts strictly after the last one: no repeats, no skips. The
fingerprint ties the cursor to the query, filters, sort and caller that made it; a
cursor from another search is refused rather than silently mixing two result lists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

import orjson


class CursorError(ValueError):
    """The cursor is not one this server gave out for this search."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """After (key, message_id); or, with `bucket`, from the top of that span of ids.

    `span` is the size of the spans of ids the search pages through (engine.py; 0 for
    none), so that every page of one search is cut the same way.
    """

    key: float | int
    message_id: int
    bucket: int | None = None
    span: int = 0


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def encode(cursor: Cursor, print_: str) -> str:
    data: dict[str, object] = {"k": cursor.key, "i": cursor.message_id, "f": print_}
    if cursor.bucket is not None:
        data["b"] = cursor.bucket
    if cursor.span:
        data["s"] = cursor.span
    raw = orjson.dumps(data)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(text: str, print_: str) -> Cursor:
    """The cursor in `text`, or CursorError when it is malformed or from another search."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise CursorError("the cursor is not valid") from None
    if not isinstance(data, dict):
        raise CursorError("the cursor is not valid")
    key, mid, fp, bucket = data.get("k"), data.get("i"), data.get("f"), data.get("b")
    if isinstance(key, bool) or not isinstance(key, int | float) or type(mid) is not int:
        raise CursorError("the cursor is not valid")
    span = data.get("s", 0)
    if bucket is not None and (type(bucket) is not int or bucket < 0):
        raise CursorError("the cursor is not valid")
    if type(span) is not int or span < 0 or (bucket is not None and not span):
        raise CursorError("the cursor is not valid")
    if fp != print_:
        raise CursorError("the cursor belongs to another search")
    return Cursor(key, mid, bucket, span)

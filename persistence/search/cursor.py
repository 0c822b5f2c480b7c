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
import math
from dataclasses import dataclass
from typing import TypeGuard

import orjson

# Every number a cursor carries is bound into SQL: beyond a signed 64-bit integer neither
# database takes it (SQLite's driver raises, PostgreSQL's refuses the parameter).
INT64_MAX = 2**63 - 1


class CursorError(ValueError):
    """The cursor is not one this server gave out for this search."""


def _int(value: object, lo: int = 0) -> TypeGuard[int]:
    return type(value) is int and lo <= value <= INT64_MAX


def _key(value: object) -> TypeGuard[int | float]:
    if type(value) is float:
        return math.isfinite(value)
    return _int(value, -INT64_MAX)


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
    span = data.get("s", 0)
    if not _key(key) or not _int(mid) or not _int(span):
        raise CursorError("the cursor is not valid")
    if bucket is not None and (not _int(bucket) or not span):
        raise CursorError("the cursor is not valid")
    # The search binds the span's ends (bucket + 1) * span: they must fit too.
    if span and ((mid // span if bucket is None else bucket) + 1) * span > INT64_MAX:
        raise CursorError("the cursor is not valid")
    if fp != print_:
        raise CursorError("the cursor belongs to another search")
    return Cursor(key, mid, bucket, span)

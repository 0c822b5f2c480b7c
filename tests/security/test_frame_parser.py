"""Hypothesis on the frame parser: any input is a frame or a `ProtocolError`, never a crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat import protocol
from chat.protocol import FRAME_TYPES, ProtocolError

FIELDS = ("room", "since", "body", "client_id", "reply_to", "message_id", "seq", "ref", "type")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=80),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Frames that look almost right: a real type and the real field names with any values.
near_frames = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from(FRAME_TYPES) | st.text(max_size=12),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(raw: str | bytes) -> None:
    try:
        frame = protocol.parse(raw)
    except ProtocolError as exc:
        assert exc.code in protocol.ERROR_CODES
        assert exc.ref is None or (isinstance(exc.ref, str) and len(exc.ref) <= 64)
        assert exc.message
        return
    assert type(frame).__name__.lower() in FRAME_TYPES


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes(raw: bytes) -> None:
    """Random bytes parse or raise ProtocolError."""
    check(raw)


def test_invalid_utf8_bytes() -> None:
    """Bytes with invalid UTF-8 inside a JSON string raise ProtocolError."""
    check(b'{"type":"s\xdc\xdcubscribe","room":"a"}')


@FUZZ
@given(st.text(max_size=300))
def test_any_text(raw: str) -> None:
    """Random text (also lone surrogates) parses or raises ProtocolError."""
    check(raw)


@FUZZ
@given(json_values)
def test_any_json(value: Any) -> None:
    """Any JSON value parses or raises ProtocolError."""
    check(json.dumps(value))


@FUZZ
@given(near_frames)
def test_near_frames(frame: dict[str, Any]) -> None:
    """Frames with real types and field names but any values: a frame or ProtocolError."""
    check(json.dumps(frame))


@FUZZ
@given(near_frames, st.text(max_size=64))
def test_ref_is_echoed(frame: dict[str, Any], ref: str) -> None:
    """A refused frame with a usable `ref` carries it, so the error can echo it."""
    frame["ref"] = ref
    try:
        protocol.parse(json.dumps(frame))
    except ProtocolError as exc:
        # JSON that msgspec cannot read (a lone surrogate escape) has no usable ref.
        if exc.message != "not valid JSON":
            assert exc.ref == ref


def test_deep_nesting() -> None:
    """Deeply nested JSON is refused without a RecursionError."""
    for depth in (100, 10_000, 100_000):
        check("[" * depth + "]" * depth)
        check('{"type":"ping","x":' + "[" * depth + "]" * depth + "}")


def test_huge_numbers_and_duplicates() -> None:
    """Numbers beyond 64 bits and duplicate keys are refused or parsed, never crash."""
    check('{"type":"subscribe","room":"a","since":' + "9" * 5000 + "}")
    check('{"type":"read","room":"a","seq":1e400}')
    check('{"type":"ping","type":"send"}')
    check('{"type":"send","room":"a","body":"x","client_id":"c","reply_to":"' + "9" * 30 + '"}')

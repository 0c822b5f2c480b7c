"""chat.protocol: parsing client frames and encoding server frames (no I/O)."""

from __future__ import annotations

import json

import pytest

from chat import frames, protocol
from chat.protocol import ProtocolError


def test_each_contract_frame_parses() -> None:
    """Every client frame of the contract parses into its struct."""
    assert protocol.parse('{"type":"subscribe","room":"a","since":null}') == protocol.Subscribe(
        room="a", since=None
    )
    assert protocol.parse('{"type":"subscribe","room":"a","since":7,"ref":"x"}').since == 7
    send = protocol.parse('{"type":"send","room":"a","body":"hi","client_id":"c","reply_to":"12"}')
    assert isinstance(send, protocol.Send) and send.reply_to == "12"
    assert isinstance(protocol.parse('{"type":"ping"}'), protocol.Ping)
    assert protocol.parse('{"type":"read","room":"a","seq":3}') == protocol.Read(room="a", seq=3)


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("not json", None),
        ("[1,2]", None),
        ('{"type":"dance","ref":"r"}', "r"),
        ('{"type":"send","room":"a","ref":"r"}', "r"),
        ('{"type":"subscribe","room":"a","since":-1}', None),
        ('{"type":"subscribe","room":"a","since":"3"}', None),
        ('{"type":"send","room":"a","body":"x","client_id":"' + "c" * 65 + '"}', None),
        ('{"type":"ping","ref":' + json.dumps("r" * 65) + "}", None),
    ],
)
def test_bad_frames_raise_bad_frame_with_their_ref(text: str, ref: str | None) -> None:
    """Malformed input raises one error type with code `bad_frame`, echoing a valid ref."""
    with pytest.raises(ProtocolError) as caught:
        protocol.parse(text)
    assert caught.value.code == "bad_frame" and caught.value.ref == ref


def test_message_ids_are_integers_or_digit_strings() -> None:
    """message_id accepts 12 and "12"; anything else is a bad frame."""
    assert protocol.message_id(12, None) == 12
    assert protocol.message_id("12", None) == 12
    for bad in ("12a", "-1", "", 0, -4, "١٢"):
        with pytest.raises(ProtocolError):
            protocol.message_id(bad, "r")


def test_body_is_trimmed_and_limited() -> None:
    """Bodies are trimmed; empty is `bad_frame`, over 4000 characters is `too_large`."""
    assert protocol.clean_body("  hoi \n", None) == "hoi"
    with pytest.raises(ProtocolError) as empty:
        protocol.clean_body("   ", None)
    assert empty.value.code == "bad_frame"
    with pytest.raises(ProtocolError) as long:
        protocol.clean_body("x" * 4001, None)
    assert long.value.code == "too_large"


def test_encoded_frames_have_no_raw_newline() -> None:
    """Server frames can be joined with newlines: the encoding never contains one."""
    text = frames.encode(frames.Error(code="bad_frame", message="regel 1\nregel 2"))
    assert "\n" not in text
    assert protocol.split(text + "\n" + text)[1]["message"] == "regel 1\nregel 2"

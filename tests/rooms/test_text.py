"""The pure cleaning of typed text: bidi controls and invisible characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.text import EXPLICIT_BIDI, INVISIBLE, clean

SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"


def test_override_removed_from_the_finding() -> None:
    """The reported spoof reads in logical order once its override is gone."""
    assert clean("Betaal naar \u202eLN12BANK0001\u202c") == "Betaal naar LN12BANK0001"


@pytest.mark.parametrize("control", list(EXPLICIT_BIDI + INVISIBLE))
def test_every_explicit_or_invisible_control_removed(control: str) -> None:
    """Each embedding, override, isolate and invisible control goes, wherever it is."""
    assert clean(f"{control}ab{control}c{control}") == "abc"


def test_direction_marks_removed_from_latin_text() -> None:
    """LRM and RLM have no use in Dutch text and can reorder digit groups."""
    assert clean("IBAN \u200f12 34\u200e 56\u061c") == "IBAN 12 34 56"


def test_direction_marks_kept_beside_right_to_left_letters() -> None:
    """A mark beside Hebrew or Arabic stays: that is what it is for."""
    text = "\u05e9\u05dc\u05d5\u05dd 2026\u200f!"
    assert clean(text) == text


def test_joiners_emoji_and_flags_kept() -> None:
    """ZWJ emoji, ZWNJ and a flag's tag sequence are not controls to remove."""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    text = f"{family} mi\u200cx {SCOTLAND} ok"
    assert clean(text) == text


def test_stray_tag_characters_removed() -> None:
    """Tag characters outside a flag hide ASCII: they go."""
    assert clean("hallo\U000e0068\U000e0069\U000e007f") == "hallo"


def test_plain_text_is_returned_as_is() -> None:
    """Text without controls is the same object: no copy on the send path."""
    text = "Gewoon een bericht, met één accent en 🌱."
    assert clean(text) is text


@given(st.text())
def test_clean_is_idempotent_and_leaves_no_explicit_control(text: str) -> None:
    """Cleaning twice is cleaning once, and no override or isolate survives."""
    once = clean(text)
    assert clean(once) == once
    assert not any(ch in once for ch in EXPLICIT_BIDI + INVISIBLE)

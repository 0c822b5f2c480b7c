"""Text a person typed, cleared of the invisible controls that make others misread it.

An explicit bidi embedding, override or isolate (U+202A–U+202E, U+2066–U+2069) lets a
few characters reorder what follows: "Betaal naar \u202eLN12BANK0001\u202c" shows as
"Betaal naar 1000KNAB21NL". No Dutch text needs them (a browser's own bidi algorithm
lays out Arabic or Hebrew correctly), so they are removed from everything a person
types, on the way in. The direction marks (LRM, RLM, ALM) have a real use beside
right-to-left letters, so they stay in text that has such letters and go elsewhere,
where they can only push digits and punctuation around. Characters that show nothing
and join or split words invisibly (zero-width space, word joiner, BOM, invisible
operators, deprecated format controls, stray tag characters) go too: they make two
names, two links or two words look the same while they differ. The zero-width joiner
and non-joiner stay (emoji sequences and several scripts need them), as do the tag
characters of a flag such as Scotland's.
"""

from __future__ import annotations

import re
import unicodedata

# Embeddings and overrides (LRE, RLE, PDF, LRO, RLO), isolates (LRI, RLI, FSI, PDI).
EXPLICIT_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Implicit direction marks: LRM, RLM and the Arabic letter mark.
DIRECTION_MARKS = "\u200e\u200f\u061c"
# Invisible and zero-width, with no legitimate use in what members write here.
INVISIBLE = (
    "\u200b"  # zero-width space
    "\u2060\u2061\u2062\u2063\u2064"  # word joiner, invisible operators
    "\u206a\u206b\u206c\u206d\u206e\u206f"  # deprecated format controls
    "\ufeff"  # zero-width no-break space (BOM)
    "\ufff9\ufffa\ufffb"  # interlinear annotation
    "\u180e"  # Mongolian vowel separator
)
_ALWAYS = re.compile(f"[{EXPLICIT_BIDI}{INVISIBLE}]")
_MARKS = re.compile(f"[{DIRECTION_MARKS}]")
# Tag characters: kept only in an emoji tag sequence (the black flag, tags, CANCEL TAG).
_TAGS = re.compile("(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|[\U000e0000-\U000e007f]")
# Every character that `clean` may remove, for a quick check first.
_ANY = re.compile(f"[{EXPLICIT_BIDI}{INVISIBLE}{DIRECTION_MARKS}\U000e0000-\U000e007f]")


def has_rtl(text: str) -> bool:
    """True when the text holds a right-to-left letter (Hebrew, Arabic, …)."""
    # The marks RLM and ALM are themselves of class R and AL: they do not count.
    return any(
        unicodedata.bidirectional(ch) in ("R", "AL") and ch not in DIRECTION_MARKS for ch in text
    )


def clean(text: str) -> str:
    """The text without bidi overrides, embeddings, isolates and invisible controls.

    Direction marks stay only in text with right-to-left letters. Idempotent, and the
    identity (the same object) on text with none of these characters.
    """
    if not _ANY.search(text):
        return text
    text = _ALWAYS.sub("", text)
    text = _TAGS.sub(lambda m: m.group(1) or "", text)
    if _MARKS.search(text) and not has_rtl(text):
        text = _MARKS.sub("", text)
    return text

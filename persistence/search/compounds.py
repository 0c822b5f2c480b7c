"""Dutch compounds taken apart against the OpenTaal word list, for both databases' indexes.

A compound is split into the words of the list it is made of, with the linking letters
-s-, -e- and -en- between them ("samenwerking-s-verband", "boer-en-land"): the split
with the fewest parts wins (ties: the longest parts), and each part is split again, so
"grondwaterstanden" becomes grond + water + standen. A message is indexed under every
run of adjacent parts too ("grondwater", "waterstanden"), stemmed like every other word:
`water` then finds "grondwaterstanden", `veehouderij` finds "melkveehouderij". The part
terms go into a second, lower-weighted field of the index on both databases (see
docs/search.md), so an exact match ranks above a part match.

The list is Debian's `hunspell-nl` (`/usr/share/hunspell/nl.dic`): its words, without
their affix flags, folded as the search folds text; the words it marks as forbidden
(flag `Fw`, its wrong and old spellings) are no parts. Without the file no word is split
and search works as before; `werkplaats reindex` splits what was indexed meanwhile.

A word the list knows whole is split only when its modifiers (every part but the head)
are more common on their own than the word is (wordfreq's Dutch frequencies, the rule of
Koehn and Knight's frequency-based splitter made stricter): "grondwater" splits (grond and
water are far more common), "stikstof" does not ("stik" is rarer than "stikstof").

Variants are indexed the same way, in the parts field: a spelling the list marks as
forbidden with the allowed spelling it differs from by a linking letter or c/k, ph/f
("ruggenspraak" and "ruggespraak"), and the number words twee..twintig, the tens,
honderd and duizend with their digits ("twintig" and "20"), each under the other.
Pure functions but for reading that file, and wordfreq's list, once per process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from persistence.search.dutch import fold, nfc, stem, stem_all, stems_text, words

DICTIONARY = Path("/usr/share/hunspell/nl.dic")
# Shorter parts are mostly noise ("ui", "ad"); 3 keeps "vee" of melkveehouderij.
MIN_PART = 3
KNOWN_MIN_PART = 4
# Linking letters between the parts of a compound (the Dutch "tussenklanken").
LINKS = ("", "s", "e", "en")
# Never a part on their own: the inseparable verb prefixes (ver-, be-, ont-: "verband" is
# no "band") and suffixes that the list also knows as words ("heid", "lijk").
NOT_PARTS = frozenset("be ge er her ont ver mis heid heden lijk lijke baar loos zaam".split())
# A word of more parts than this is indexed under its parts, not under every run of them.
MAX_RUN_PARTS = 6
# The list's flag for a forbidden word (its "FORBIDDENWORD" in nl.aff).
FORBIDDEN = "Fw"
# How a forbidden spelling may differ from the allowed one to count as its variant: a
# linking letter (-n-, -s-, -e-) inside the word, or c/k, ph/f, th/t in a longer word.
LINK_EDITS = (("en", "e"), ("e", "en"), ("s", ""), ("", "s"), ("e", ""))
LETTER_EDITS = (("c", "k"), ("k", "c"), ("ph", "f"), ("th", "t"))
# The number words searched as digits and back ("een" is left out: it is the article).
NUMBERS = dict(
    zip(
        "twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien"
        " zestien zeventien achttien negentien twintig".split(),
        (str(n) for n in range(2, 21)),
        strict=True,
    )
) | {
    "dertig": "30",
    "veertig": "40",
    "vijftig": "50",
    "zestig": "60",
    "zeventig": "70",
    "tachtig": "80",
    "negentig": "90",
    "honderd": "100",
    "duizend": "1000",
}
DIGITS = {d: w for w, d in NUMBERS.items()}

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The words of the list, folded, and their stems (a compound's last part may be
    inflected: "standen" is accepted because its stem is the stem of "stand")."""

    words: frozenset[str]
    stems: frozenset[str]
    # Each spelling variant with its other spellings (both directions).
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def is_part(self, word: str) -> bool:
        return word in self.words and word not in NOT_PARTS

    def is_last_part(self, word: str) -> bool:
        return word not in NOT_PARTS and (word in self.words or self.knows(word))

    def knows(self, word: str) -> bool:
        """Whether the word or an inflection of it is in the list ("schappen": schap)."""
        root = stem(word)
        # The stemmer keeps a doubled consonant that the list's word does not have.
        return root in self.stems or (root[-1:] == root[-2:-1] and root[:-1] in self.stems)


def _flags(rest: str) -> set[str]:
    # The list's flags are two letters each ("FLAG long"), before any morphology field.
    flags = rest.split(None, 1)[0] if rest.strip() else ""
    return {flags[i : i + 2] for i in range(0, len(flags), 2)}


def _edits(word: str) -> Iterator[str]:
    """The spellings one edit of LINK_EDITS inside `word`, or of LETTER_EDITS, away."""
    n = len(word)
    for i in range(MIN_PART, n - MIN_PART + 1):
        for old, new in LINK_EDITS:
            if word.startswith(old, i) and n - i - len(old) >= MIN_PART:
                yield word[:i] + new + word[i + len(old) :]
    if n >= 2 * MIN_PART:
        for old, new in LETTER_EDITS:
            at = word.find(old)
            while at >= 0:
                yield word[:at] + new + word[at + len(old) :]
                at = word.find(old, at + 1)


def spelling_variants(allowed: set[str], forbidden: set[str]) -> dict[str, tuple[str, ...]]:
    """Pairs of a forbidden spelling and the first allowed word one edit away, both ways."""
    out: dict[str, list[str]] = {}
    for wrong in sorted(forbidden - allowed):
        right = next((e for e in _edits(wrong) if e in allowed), None)
        if right is not None:
            out.setdefault(wrong, []).append(right)
            out.setdefault(right, []).append(wrong)
    return {w: tuple(v) for w, v in out.items()}


def read_vocabulary(path: Path) -> Vocabulary:
    """The folded lower-case letter words of a hunspell .dic file (names left out), the
    forbidden ones apart: they are no parts, but variants of the allowed words."""
    found: set[str] = set()
    forbidden: set[str] = set()
    with path.open(encoding="utf-8", errors="replace") as lines:
        next(lines, None)  # the first line is the entry count
        for line in lines:
            entry, _, rest = line.strip().partition("/")
            if not entry or not entry[0].islower():
                continue
            # NFKD folding turns the list's ligature "ĳ" into "ij", as it does in messages.
            word = fold(nfc(entry))
            if word.isalpha() and word.isascii() and len(word) >= MIN_PART:
                (forbidden if FORBIDDEN in _flags(rest) else found).add(word)
    return Vocabulary(
        frozenset(found), frozenset(stem_all(list(found))), spelling_variants(found, forbidden)
    )


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The process's word list, read on first use; empty (nothing splits) without the file."""
    try:
        vocab = read_vocabulary(DICTIONARY)
    except OSError:
        log.warning("no Dutch word list at %s: compounds are not split", DICTIONARY)
        return Vocabulary(frozenset(), frozenset())
    frequency("water")  # wordfreq reads its Dutch list on first use: now, not in a send
    return vocab


def frequency(word: str) -> float:
    """How common a word is in Dutch: wordfreq's Zipf scale (0 unknown, 7 the commonest)."""
    # Imported here: a second of imports, paid where the word list is read.
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "nl")


def _modifier_frequency(part: str, vocab: Vocabulary) -> float:
    """A modifier's frequency, or that of the word it is with a linking letter: the list
    knows "dorps", but in "dorpshuis" it is the common "dorp" and an -s-."""
    forms = [part] + [
        part[: -len(link)]
        for link in LINKS
        if link and part.endswith(link) and part[: -len(link)] in vocab.words
    ]
    return max(frequency(f) for f in forms)


def _lexical(word: str, spans: list[Span], vocab: Vocabulary) -> bool:
    """Whether a word the list knows is better left whole than cut into these parts: a
    modifier (a part before the head) rarer than the whole word says the whole is a word
    of its own ("stik" in "stikstof"); a common one says it is a compound ("grondwater")."""
    whole = frequency(word)
    return any(_modifier_frequency(word[s:e], vocab) <= whole for s, e in spans[:-1])


Span = tuple[int, int]


def _best(candidates: list[list[Span]]) -> list[Span] | None:
    # Fewest parts, then the longest parts (sum of squares), then the earliest split.
    return min(
        candidates,
        key=lambda c: (len(c), -sum((e - s) ** 2 for s, e in c)),
        default=None,
    )


def _splits(word: str, vocab: Vocabulary) -> list[Span] | None:
    """The best split of `word` into at least two parts, as spans; None if there is none."""
    n = len(word)
    # A word the list knows (or an inflection of one) splits into parts of 4 letters at
    # least: "proces" is no pro + ces, "besluit" no bes + luit; a new compound such as
    # "zoetwaterbel" may end in a short word.
    least = KNOWN_MIN_PART if vocab.knows(word) else MIN_PART
    memo: dict[int, list[Span] | None] = {}

    def joined(i: int) -> list[list[Span]]:
        # word[i:] as a part, a linking letter or none, and the best split of the rest.
        out: list[list[Span]] = []
        for j in range(i + least, n - least + 1):
            if vocab.is_part(word[i:j]):
                for link in LINKS:
                    k = j + len(link)
                    if n - k >= least and word.startswith(link, j):
                        rest = tail(k)
                        if rest is not None:
                            out.append([(i, j), *rest])
        return out

    def tail(i: int) -> list[Span] | None:
        # The best split of word[i:] into one or more parts, the last one possibly inflected.
        if i not in memo:
            whole = [[(i, n)]] if vocab.is_last_part(word[i:]) else []
            memo[i] = _best(whole + joined(i))
        return memo[i]

    return _best(joined(0))


def _atoms(word: str, start: int, vocab: Vocabulary) -> list[Span]:
    """The smallest parts of word[start:] spans, each part split again where it can be."""
    found = _splits(word, vocab)
    if found is None or (vocab.knows(word) and _lexical(word, found, vocab)):
        return [(start, start + len(word))]
    out: list[Span] = []
    for s, e in found:
        out += _atoms(word[s:e], start + s, vocab)
    return out


@lru_cache(maxsize=65536)
def parts(word: str) -> tuple[str, ...]:
    """The words a folded word is indexed under besides itself: its parts and every run of
    adjacent parts ("grondwaterstanden": grond, water, standen, grondwater, waterstanden);
    empty for a word that is no compound, or that the list does not know."""
    if len(word) < 2 * MIN_PART or not word.isalpha():
        return ()
    vocab = vocabulary()
    atoms = _atoms(word, 0, vocab)
    if len(atoms) < 2:
        return ()
    if len(atoms) > MAX_RUN_PARTS:
        return tuple(dict.fromkeys(word[s:e] for s, e in atoms))
    runs = (
        word[atoms[i][0] : atoms[j][1]]
        for i in range(len(atoms))
        for j in range(i, len(atoms))
        if (i, j) != (0, len(atoms) - 1)
    )
    return tuple(dict.fromkeys(runs))


def variants(word: str) -> tuple[str, ...]:
    """The other spellings of a folded word: a number's digits or words, the allowed and
    forbidden spellings of the list that differ by a linking letter or c/k."""
    if word in NUMBERS:
        return (NUMBERS[word],)
    if word in DIGITS:
        return (DIGITS[word],)
    return vocabulary().variants.get(word, ())


def extra(word: str) -> tuple[str, ...]:
    """Everything a folded word is indexed under besides itself: its parts and variants."""
    return parts(word) + variants(word)


def parts_text(text: str) -> str:
    """What the index keeps of a text's compounds and variants: the stems of their parts
    and other spellings, space-separated, each once (words the text has whole are in the
    main field already)."""
    return _parts_of(words(text))


def index_fields(text: str) -> tuple[str, str]:
    """`dutch.index_text` and `parts_text` of one text, its words found once (a send)."""
    found = words(text)
    return stems_text(found), _parts_of(found)


def _parts_of(found: list[str]) -> str:
    stems: dict[str, None] = {}
    for word in found:
        if word.isdigit() and word not in DIGITS:
            # Times, dates and amounts have no parts or variants, and are mostly new: kept
            # out of the cache, where each would only push out a word that comes again.
            continue
        for part in _extra_stems(word):
            stems[part] = None
    return " ".join(stems)


@lru_cache(maxsize=65536)
def _extra_stems(word: str) -> tuple[str, ...]:
    return tuple(stem(part) for part in extra(word))

"""Dutch text as the search sees it: folding, words, stop words and the Snowball stemmer.

Pure functions, shared by the query parser, the SQLite index and the snippet builder.
PostgreSQL does the same work inside the database (`werkplaats_nl`: unaccent, then the
Snowball Dutch stemmer); `dutch_porter` here is the very algorithm PostgreSQL's `dutch`
dictionary runs, so both backends agree on which words meet.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

# Letters and digits; `_` is a separator for FTS5's unicode61 and PostgreSQL's parser alike.
WORD_RE = re.compile(r"[^\W_]+")

# PostgreSQL's tsearch_data/dutch.stop (the Snowball list), diacritics folded. Stop words
# are indexed (so phrases stay exact and "één" can still find "een") but left out of
# queries, unless a query has nothing else.
STOP_WORDS = frozenset(
    """
    de en van ik te dat die in een hij het niet zijn is was op aan met als voor had er maar
    om hem dan zou of wat mijn men dit zo door over ze zich bij ook tot je mij uit der daar
    haar naar heb hoe heeft hebben deze u want nog zal me zij nu ge geen omdat iets worden
    toch al waren veel meer doen toen moet ben zonder kan hun dus alles onder ja eens hier
    wie werd altijd doch wordt wezen kunnen ons zelf tegen na reeds wil kon niets uw iemand
    geweest andere
    """.split()
)

# PyStemmer's compiled build when installed (a dependency): 2 µs for a new word against
# 100 µs for the pure-Python one, which every send paid once per new word on SQLite.
_stemmer = snowballstemmer.stemmer("dutch_porter")


def fold(text: str) -> str:
    """Lower case without diacritics: "Één" → "een", "Fryslân" → "fryslan"."""
    if text.isascii():  # most text: 20 times faster than the general path
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Token:
    """A word of a text: where it stands (in the NFC form of the text) and its folded words."""

    start: int
    end: int
    folded: tuple[str, ...]


def nfc(text: str) -> str:
    # Composed form first: in "e\u0301" the accent is no word character and would split the word.
    return unicodedata.normalize("NFC", text)


def tokens(text: str) -> list[Token]:
    """The words of an NFC text with their places; folding rarely yields more than one word."""
    found = []
    for m in WORD_RE.finditer(text):
        folded = tuple(WORD_RE.findall(fold(m.group())))
        if folded:
            found.append(Token(m.start(), m.end(), folded))
    return found


def words(text: str) -> list[str]:
    """The folded words of a text, in order (as `tokens` has them, folding the text at once)."""
    return WORD_RE.findall(fold(nfc(text)))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball Dutch stem of one folded word ("boeren" → "boer")."""
    return str(_stemmer.stemWord(word))


def stem_all(words: list[str]) -> list[str]:
    """The stems of many words at once (uncached: for word lists, not for messages)."""
    return [str(s) for s in _stemmer.stemWords(words)]


def prefix_roots(word: str) -> list[str]:
    """What a prefix `word*` looks for among indexed stems: the stem of the typed letters
    as a prefix ("boere*" finds "boeren", stemmed boer), and the letters themselves when
    the stem is not a prefix of them (then it would not cover them)."""
    root = stem(word)
    return [root] if word.startswith(root) else [root, word]


def is_stop_word(word: str) -> bool:
    return word in STOP_WORDS


def index_text(text: str) -> str:
    """What the SQLite index stores for a message: its stems, space-separated, in order."""
    return stems_text(words(text))


def stems_text(found: list[str]) -> str:
    """`index_text` of words already found (`words`)."""
    return " ".join(stem(w) for w in found)

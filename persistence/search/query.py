"""The search query language, parsed into a small AST; no I/O, no SQL.

    boeren grondprijs      both words (any form: "boer" finds "boeren")
    "ruimte voor de rivier"  these words in this order
    boer*                  words starting with "boer" (at least 2 letters before the *)
    -mest  -"mest uitrijden"  leave out messages with this word or phrase

Words are folded (lower case, no diacritics) but not stemmed: stemming is the backend's
business. Dutch stop words are dropped from free words and exclusions, unless the query
has nothing but stop words; inside a phrase they stay, so phrases match exactly.
A token of several words ("noord-holland", "auto's") is a phrase of those words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from persistence.search.dutch import WORD_RE, fold, is_stop_word, nfc

MAX_QUERY_CHARS = 500
MAX_CLAUSES = 16
MIN_PREFIX_CHARS = 2


# `topic:naam` or `topic:"twee woorden"` anywhere in a query narrows it to that topic.
_TOPIC = re.compile(r'(?:^|(?<=\s))(?:topic|onderwerp):(?:"([^"]*)"|(\S+))')


def take_topic(text: str) -> tuple[str, str | None]:
    """The query without its `topic:` filter, and the topic (the last one given)."""
    found = None
    for match in _TOPIC.finditer(text):
        found = match.group(1) if match.group(1) is not None else match.group(2)
    return _TOPIC.sub(" ", text).strip(), found


class QueryError(ValueError):
    """The query cannot be searched; the message says why, for the person who typed it."""


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Either:
    """What was typed, or what the glossary says it means: any of `options` matches.

    `options[0]` is the typed clause; `via[i]` names the glossary entry (its term) that
    brought `options[i]` in, for the hit to show why it was found (glossary.py).
    """

    options: tuple[Word | Phrase, ...]
    via: tuple[str, ...]


Clause = Word | Phrase | Either


@dataclass(frozen=True, slots=True)
class Query:
    """Messages must match every clause of `include` and none of `exclude`."""

    include: tuple[Clause, ...]
    exclude: tuple[Clause, ...] = ()

    def describe(self) -> str:
        """A canonical text of the query (for cursor fingerprints and logs)."""
        return " ".join(
            [_clause_text(c) for c in self.include] + ["-" + _clause_text(c) for c in self.exclude]
        )


def _clause_text(c: Clause) -> str:
    if isinstance(c, Either):
        return "(" + " | ".join(_clause_text(o) for o in c.options) + ")"
    if isinstance(c, Phrase):
        return '"' + " ".join(c.words) + '"'
    return c.text + ("*" if c.prefix else "")


@dataclass(frozen=True, slots=True)
class _Raw:
    """One clause as typed, before stop words are weighed."""

    clause: Clause
    negated: bool


def _clause(raw: str, quoted: bool) -> Clause | None:
    prefix = not quoted and raw.endswith("*")
    found = WORD_RE.findall(fold(nfc(raw)))
    if not found:
        return None
    if quoted or len(found) > 1:
        return Phrase(tuple(found)) if len(found) > 1 else Word(found[0])
    if prefix and len(found[0]) < MIN_PREFIX_CHARS:
        raise QueryError(f"a prefix needs at least {MIN_PREFIX_CHARS} letters before the *")
    return Word(found[0], prefix)


def _scan(text: str) -> list[_Raw]:
    """Split the text into clauses: whitespace separates, quotes group, a leading - negates."""
    out: list[_Raw] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end  # an unclosed quote runs to the end
            raw, quoted, i = text[i + 1 : end], True, end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] != '"':
                j += 1
            raw, quoted, i = text[i:j], False, j
        clause = _clause(raw, quoted)
        if clause is not None:
            out.append(_Raw(clause, negated))
    return out


def _is_stop(c: Clause) -> bool:
    return isinstance(c, Word) and not c.prefix and is_stop_word(c.text)


def parse(text: str) -> Query:
    """Parse a query, or raise QueryError saying what is wrong with it."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    raws = _scan(text)
    if len(raws) > MAX_CLAUSES:
        raise QueryError(f"the query has more than {MAX_CLAUSES} words and phrases")
    include = [r.clause for r in raws if not r.negated]
    exclude = [r.clause for r in raws if r.negated]
    if not include and exclude:
        raise QueryError("exclusions alone find nothing: give a word to search for as well")
    if not include:
        raise QueryError("give at least one word to search for")
    if not all(_is_stop(c) for c in include):
        include = [c for c in include if not _is_stop(c)]
    exclude = [c for c in exclude if not _is_stop(c)]
    return Query(tuple(dict.fromkeys(include)), tuple(dict.fromkeys(exclude)))

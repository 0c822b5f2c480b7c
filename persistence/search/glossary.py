"""The Werkplaats's own words: a glossary that moderators keep, used to widen a query.

An entry says that a term and what it means are one ("NPLG" ↔ "Nationaal Programma
Landelijk Gebied", "LVVN" ↔ "het ministerie"). A query that names either side, as a
word, as consecutive words or as a phrase, also looks for the other side: the clause
becomes an `Either` of what was typed and what the entry gives. Leading and trailing
stop words of a side are left out ("het ministerie" looks for "ministerie"), inner ones
kept in a phrase ("Ruimte voor de Rivier"). A hit that the typed words alone would not
have found says which entries found it (`matched_via`). Pure, but for `entries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import GlossaryEntry
from persistence.search.compounds import extra
from persistence.search.dutch import STOP_WORDS, stem, words
from persistence.search.query import Clause, Either, Phrase, Query, Word


@dataclass(frozen=True, slots=True)
class Entry:
    term: str
    means: str


def _side(text: str) -> tuple[str, ...]:
    """The folded words of one side of an entry, without leading and trailing stop words."""
    found = words(text)
    while found and found[0] in STOP_WORDS:
        found.pop(0)
    while found and found[-1] in STOP_WORDS:
        found.pop()
    return tuple(found)


def _as_clause(side: tuple[str, ...]) -> Word | Phrase:
    return Word(side[0]) if len(side) == 1 else Phrase(side)


def _key(c: Word | Phrase) -> tuple[str, ...]:
    return (c.text,) if isinstance(c, Word) else _side(" ".join(c.words))


class _Sides:
    """Every side of every entry by its words, with the other side and the entry's term."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.others: dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]] = {}
        for e in entries:
            term, means = _side(e.term), _side(e.means)
            if term and means and term != means:
                self.others.setdefault(term, []).append((means, e.term))
                self.others.setdefault(means, []).append((term, e.term))
        self.longest = max((len(k) for k in self.others), default=0)

    def either(self, typed: Word | Phrase, key: tuple[str, ...]) -> Clause:
        found = self.others.get(key)
        if not found:
            return typed
        options: list[Word | Phrase] = [typed]
        via = [""]
        for side, term in found:
            clause = _as_clause(side)
            if clause not in options:
                options.append(clause)
                via.append(term)
        return Either(tuple(options), tuple(via)) if len(options) > 1 else typed


def _widen(clauses: tuple[Clause, ...], sides: _Sides) -> tuple[Clause, ...]:
    out: list[Clause] = []
    i = 0
    while i < len(clauses):
        c = clauses[i]
        # The longest run of plain words from here that is a side of an entry.
        run = 0
        for n in range(min(sides.longest, len(clauses) - i), 1, -1):
            chunk = clauses[i : i + n]
            if all(isinstance(w, Word) and not w.prefix for w in chunk):
                key = tuple(w.text for w in chunk if isinstance(w, Word))
                if key in sides.others:
                    out.append(sides.either(Phrase(key), key))
                    run = n
                    break
        if run:
            i += run
            continue
        if isinstance(c, Word | Phrase) and not (isinstance(c, Word) and c.prefix):
            out.append(sides.either(c, _key(c)))
        else:
            out.append(c)
        i += 1
    return tuple(out)


def expand(query: Query, entries: Sequence[Entry]) -> Query:
    """The query with every clause that names a side of an entry widened to both sides."""
    if not entries:
        return query
    sides = _Sides(entries)
    return Query(_widen(query.include, sides), _widen(query.exclude, sides))


def _found(c: Word | Phrase, stems: list[str], part_stems: set[str]) -> bool:
    if isinstance(c, Word):
        target = stem(c.text)
        if c.prefix:
            return any(s.startswith(target) for s in stems)
        return target in stems or target in part_stems
    want = [stem(w) for w in c.words]
    return any(stems[k : k + len(want)] == want for k in range(len(stems) - len(want) + 1))


def matched_via(body: str, query: Query) -> list[str]:
    """The entries (their terms) that found this message where the typed words did not."""
    widened = [c for c in query.include if isinstance(c, Either)]
    if not widened:
        return []
    folded = words(body)
    stems = [stem(w) for w in folded]
    part_stems = {stem(p) for w in folded for p in extra(w)}
    out: list[str] = []
    for c in widened:
        if _found(c.options[0], stems, part_stems):
            continue
        for option, term in zip(c.options[1:], c.via[1:], strict=True):
            if term not in out and _found(option, stems, part_stems):
                out.append(term)
    return out


async def entries(session: AsyncSession) -> list[Entry]:
    """The whole glossary (a few hundred entries at most), read once per search."""
    rows = await session.execute(select(GlossaryEntry.term, GlossaryEntry.means))
    return [Entry(r.term, r.means) for r in rows]

"""Names out of free text for what the public reads (the public dossier, `/openbaar`).

Pure: a `Redactor` is built from the people the server knows and applied to any text. In
one pass (what it puts in is never looked at again) it replaces

- e-mail addresses → "[e-mailadres]", telephone numbers → "[telefoonnummer]";
- `@username` and a known user's full display name (any case) → their organisation and
  layer, e.g. "Gemeente A (gemeente)";
- a known username written as a word (`ann`, `j.devries`) → the same label;
- a known user's first name or surname on its own, written with a capital ("Ann",
  "Aalders"), and any name after a title or initials ("mevrouw Jansen", "dhr. P. Bakker",
  "J. de Vries", also of people who have no account) → "[naam]".

What it cannot find: the name of someone without an account written without a title or
initials ("Jan zei dat..."), nicknames, misspellings, and names inside words. The public
version must still be read by a person before it goes out (docs/public-pages.md, "Names
in free text"). It errs towards removing too much: a surname that is also a word ("Visser") is
removed where it is capitalised, and so is a username that is a word.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from html import escape, unescape

NAME = "[naam]"
EMAIL = "[e-mailadres]"
PHONE = "[telefoonnummer]"

# Words between the parts of a Dutch (or Frisian, Belgian) name, never a name on their own.
PARTICLES = frozenset(
    "van de der den het ter ten te op in 't la le du da di del von zu al el bin ben".split()
)
_PARTICLE = r"(?:(?i:van|de|der|den|het|ter|ten|te|op|in|'t|von|du|la|le)\s+)*"
_CAPITALISED = r"[A-ZÀ-ÖØ-Þ][\w'’-]*\w"
_TITLES = (
    r"meneer|mevrouw|mevr\.?|mw\.?|dhr\.?|de\s+heer|mr\.|dr\.|drs\.|ir\.|ing\.|prof\."
    r"|wethouder|burgemeester|gedeputeerde|dijkgraaf|minister|staatssecretaris"
)
_TAGS = re.compile(r"(<[^>]*>)")
_EMAIL = r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"
# A Dutch number (06-12345678, 058 123 45 67, +31 (0)6 1234 5678) or any +country number.
_PHONE = (
    r"(?:(?:\+|00)31[\s-]?(?:\(0\)[\s-]?)?|0)\d(?:[\s-]?\d){8}"
    r"|(?:\+|00)[1-9]\d{0,2}(?:[\s-]?\d){6,12}"
)


_CANDIDATES = re.compile(
    "|".join(
        [
            rf"(?P<email>{_EMAIL})",
            rf"(?<![\w+])(?P<phone>{_PHONE})(?!\w)",
            rf"(?P<title>\b(?i:{_TITLES}))\s+(?P<titled>(?:[A-Z]\.\s?)*{_PARTICLE}{_CAPITALISED})",
            rf"(?P<initials>\b(?:[A-Z]\.\s?){{1,4}}\s*{_PARTICLE}{_CAPITALISED})",
            r"(?<![\w@/.])@(?P<mention>[A-Za-z0-9._-]{2,40}?)(?=[._-]*(?![\w.-]))",
            r"(?<![\w.-])(?P<word>\w[\w'’.-]*)",
        ]
    )
)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone the server knows, with the label the public sees instead of their name."""

    username: str
    display_name: str
    label: str


class Redactor:
    """Replaces names, e-mail addresses and telephone numbers in text (see the module).
    Built once from everyone the server knows; `text` may keep some of them named.

    One small pattern finds the candidates (contact details, titled names, initials,
    mentions, and every word); known names are then looked up by their first word in
    dictionaries, so the cost grows with the text, not with the number of accounts."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.people: dict[str, Person] = {}  # lower-cased username → person
        # case-folded first word → (pattern of the whole display name, username), longest
        # first; compiled when first used (`re` keeps the compiled patterns)
        self.names: dict[str, list[tuple[str, str]]] = {}
        self.parts: dict[str, set[str]] = {}  # a name's word → the usernames it is part of
        self.patterns: dict[str, re.Pattern[str]] = {}
        for p in people:
            key = p.username.lower()
            self.people[key] = p
            words = p.display_name.split()
            if len(" ".join(words)) >= 3:
                whole = r"\s+".join(map(re.escape, words)) + r"(?!\w)"
                self.names.setdefault(words[0].casefold(), []).append((whole, key))
            for w in [*words, *re.split(r"[\s-]+", " ".join(words))]:
                if _name_part(w):
                    self.parts.setdefault(w, set()).add(key)
        for found in self.names.values():
            found.sort(key=lambda x: len(x[0]), reverse=True)

    def text(self, value: str, keep: Collection[str] = ()) -> str:
        """`value` with names, e-mail addresses and telephone numbers replaced. `keep`:
        usernames of people who chose to be named; their names stay, and their `@username`
        becomes their name."""
        out: list[str] = []
        at = 0
        while (m := _CANDIDATES.search(value, at)) is not None:
            start, end, shown = self._one(value, m, keep)
            out += [value[at:start], shown]
            at = max(end, start + 1)
        out.append(value[at:])
        return "".join(out)

    def html(self, value: str, keep: Collection[str] = ()) -> str:
        """`text` on the text between the tags of sanitised HTML, escaped again (attributes
        stay as they are: the sanitiser allows no names there)."""
        return "".join(
            piece if piece.startswith("<") else escape(self.text(unescape(piece), keep), False)
            for piece in _TAGS.split(value)
        )

    def _compiled(self, pattern: str) -> re.Pattern[str]:
        found = self.patterns.get(pattern)
        if found is None:
            found = self.patterns[pattern] = re.compile(pattern, re.IGNORECASE)
        return found

    def _label(self, username: str, keep: Collection[str], named: str) -> str:
        person = self.people[username]
        return named if person.username in keep else person.label

    def _one(self, value: str, m: re.Match[str], keep: Collection[str]) -> tuple[int, int, str]:
        """What replaces the candidate `m`: (start, end, text)."""
        kind = m.lastgroup
        if kind == "email":
            return m.start(), m.end(), EMAIL
        if kind == "phone":
            return m.start(), m.end(), PHONE
        if kind == "titled":
            return m.start(), m.end(), f"{m['title']} {NAME}"
        if kind == "initials":
            return m.start(), m.end(), NAME
        if kind == "mention":
            key = m["mention"].lower()
            if key not in self.people:
                return m.start(), m.end(), m[0]
            return m.start(), m.end(), self._label(key, keep, self.people[key].display_name)
        word = m["word"].rstrip(".-'’")
        start = m.start()
        for whole, key in self.names.get(word.casefold(), ()):
            if (found := self._compiled(whole).match(value, start)) is not None:
                return start, found.end(), self._label(key, keep, found[0])
        if len(word) >= 3 and word.lower() in self.people and "@" not in value[start - 1 : start]:
            return start, start + len(word), self._label(word.lower(), keep, word)
        pieces = [word] if word in self.parts else word.split("-")
        shown = "-".join(NAME if self._hidden_part(p, keep) else p for p in pieces)
        return start, start + len(word), shown

    def _hidden_part(self, piece: str, keep: Collection[str]) -> bool:
        owners = self.parts.get(piece, set())
        return bool(owners) and not all(self.people[o].username in keep for o in owners)


def _name_part(word: str) -> bool:
    """A first name or surname worth finding on its own: not a particle, not an initial."""
    return len(word) >= 3 and word[0].isupper() and word.lower() not in PARTICLES

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


@dataclass(frozen=True, slots=True)
class Person:
    """Someone the server knows, with the label the public sees instead of their name."""

    username: str
    display_name: str
    label: str


class Redactor:
    """Replaces names, e-mail addresses and telephone numbers in text (see the module).
    Built once from everyone the server knows; `text` may keep some of them named."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.people: dict[str, Person] = {}  # lower-cased username → person
        self.name_of: dict[str, str] = {}  # case-folded display name → username
        self.parts: dict[str, set[str]] = {}  # a name's word → the usernames it is part of
        for p in people:
            key = p.username.lower()
            self.people[key] = p
            name = " ".join(p.display_name.split())
            if len(name) >= 3:
                self.name_of.setdefault(name.casefold(), key)
            words = name.split()
            for w in [*words, *re.split(r"[\s-]+", name)]:
                if _name_part(w):
                    self.parts.setdefault(w, set()).add(key)
        usernames = sorted((u for u in self.people if len(u) >= 3), key=len, reverse=True)
        names = sorted(self.name_of, key=len, reverse=True)
        alternatives = [
            rf"(?P<email>{_EMAIL})",
            rf"(?<![\w+])(?P<phone>{_PHONE})(?!\w)",
            rf"(?P<title>\b(?i:{_TITLES}))\s+(?P<titled>(?:[A-Z]\.\s?)*{_PARTICLE}{_CAPITALISED})",
            rf"(?P<initials>\b(?:[A-Z]\.\s?){{1,4}}\s*{_PARTICLE}{_CAPITALISED})",
            r"(?<![\w@/.])@(?P<mention>[A-Za-z0-9._-]{2,40}?)(?=[._-]*(?![\w.-]))",
        ]
        if names:
            alternatives.append(
                rf"(?<!\w)(?P<name>(?i:{'|'.join(_flexible(n) for n in names)}))(?!\w)"
            )
        if usernames:
            alternatives.append(
                rf"(?<![\w@.-])(?P<username>(?i:{'|'.join(map(re.escape, usernames))}))(?![\w@-])"
            )
        if self.parts:
            ordered = sorted(self.parts, key=len, reverse=True)
            alternatives.append(rf"(?<!\w)(?P<part>{'|'.join(map(re.escape, ordered))})(?!\w)")
        self._pattern = re.compile("|".join(alternatives))

    def text(self, value: str, keep: Collection[str] = ()) -> str:
        """`value` with names, e-mail addresses and telephone numbers replaced. `keep`:
        usernames of people who chose to be named; their names stay, and their `@username`
        or username becomes their name."""
        return self._pattern.sub(lambda m: self._replace(m, keep), value)

    def html(self, value: str, keep: Collection[str] = ()) -> str:
        """`text` on the text between the tags of sanitised HTML, escaped again (attributes
        stay as they are: the sanitiser allows no names there)."""
        return "".join(
            piece if piece.startswith("<") else escape(self.text(unescape(piece), keep), False)
            for piece in _TAGS.split(value)
        )

    def _replace(self, m: re.Match[str], keep: Collection[str]) -> str:
        kind = m.lastgroup
        if kind == "email":
            return EMAIL
        if kind == "phone":
            return PHONE
        if kind == "titled":
            return f"{m['title']} {NAME}"
        if kind == "mention":
            found = self.people.get(m["mention"].lower())
            if found is None:
                return m[0]
            return found.display_name if found.username in keep else found.label
        if kind == "name":
            owner = self.name_of[" ".join(m["name"].split()).casefold()]
            return m[0] if self.people[owner].username in keep else self.people[owner].label
        if kind == "username":
            found = self.people[m["username"].lower()]
            return m[0] if found.username in keep else found.label
        if kind == "part":
            owners = self.parts[m["part"]]
            return m[0] if all(self.people[o].username in keep for o in owners) else NAME
        return NAME


def _name_part(word: str) -> bool:
    """A first name or surname worth finding on its own: not a particle, not an initial."""
    return len(word) >= 3 and word[0].isupper() and word.lower() not in PARTICLES


def _flexible(name: str) -> str:
    """A display name as a pattern that allows any run of white space between its words."""
    return r"\s+".join(re.escape(w) for w in name.split())

"""Snippets, built in Python for both backends: the matched words between markers.

A snippet is plain text. Matched words are wrapped in U+E000 (start) and U+E001 (end),
characters of Unicode's private use area that no keyboard produces and that mean nothing
in HTML; any that a message itself contains are removed first, so every marker in a
snippet is the server's. The client splits on them and renders the parts as text.
"""

from __future__ import annotations

from collections.abc import Callable

from persistence.search.compounds import extra
from persistence.search.dutch import Token, nfc, tokens
from persistence.search.query import Either, Phrase, Query, Word

MARK_START = "\ue000"
MARK_END = "\ue001"
ELLIPSIS = "…"
MAX_SNIPPET_CHARS = 240  # about two lines of a result list
CONTEXT_BEFORE_CHARS = 60  # text kept before the first match when the message is cut

_STRIP = str.maketrans("", "", MARK_START + MARK_END)


def strip_markers(text: str) -> str:
    """The text without marker characters, so that markers in a snippet are ours alone."""
    return text.translate(_STRIP)


def _part_stems(word: str, stem: Callable[[str], str]) -> set[str]:
    return {stem(p) for p in extra(word)}


def _marked(toks: list[Token], query: Query, stem: Callable[[str], str]) -> set[int]:
    """Indices of the tokens that the query's positive clauses match."""
    flat = [(i, stem(w), w) for i, t in enumerate(toks) for w in t.folded]
    stems = [s for _, s, _ in flat]
    hit: set[int] = set()
    clauses = [o for c in query.include for o in (c.options if isinstance(c, Either) else (c,))]
    for clause in clauses:
        if isinstance(clause, Phrase):
            want = [stem(w) for w in clause.words]
            n = len(want)
            for k in range(len(stems) - n + 1):
                if stems[k : k + n] == want:
                    hit.update(i for i, _, _ in flat[k : k + n])
        elif isinstance(clause, Word) and clause.prefix:
            root = stem(clause.text)
            hit.update(i for i, s, w in flat if s.startswith(root) or w.startswith(clause.text))
        else:
            # A word also marks the compounds it is a part of ("water" in "grondwaterstanden").
            target = stem(clause.text)
            hit.update(i for i, s, w in flat if s == target or target in _part_stems(w, stem))
    return hit


def build_snippet(body: str, query: Query, stem: Callable[[str], str]) -> str:
    """A stretch of the message around its first match, matched words between markers."""
    text = nfc(strip_markers(body))
    toks = tokens(text)
    hit = _marked(toks, query, stem)
    start, end = 0, len(text)
    if len(text) > MAX_SNIPPET_CHARS:
        first = min((toks[i].start for i in hit), default=0)
        start = max(0, first - CONTEXT_BEFORE_CHARS)
        # Cut at word boundaries, never inside a word.
        start = next((t.start for t in toks if t.start >= start), start) if start else 0
        end = min(len(text), start + MAX_SNIPPET_CHARS)
        end = max((t.end for t in toks if t.end <= end), default=end)
    parts: list[str] = [ELLIPSIS] if start > 0 else []
    pos = start
    for i, t in enumerate(toks):
        if i not in hit or t.start < start or t.end > end:
            continue
        parts += [text[pos : t.start], MARK_START, text[t.start : t.end], MARK_END]
        pos = t.end
    parts.append(text[pos:end])
    if end < len(text):
        parts.append(ELLIPSIS)
    return "".join(parts).strip()

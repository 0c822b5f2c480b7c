"""The query language, Dutch text handling and snippets: pure functions, no database."""

from __future__ import annotations

import pytest

from persistence.search import MARK_END, MARK_START, QueryError, dutch, parse
from persistence.search.dutch import fold, index_text, stem, words
from persistence.search.query import Phrase, Query, Word
from persistence.search.snippet import build_snippet
from persistence.search.sqlite import match_expression


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("boeren", Query((Word("boeren"),))),
        ("Grondprijzen  ZEELAND", Query((Word("grondprijzen"), Word("zeeland")))),
        ('"ruimte voor de rivier"', Query((Phrase(("ruimte", "voor", "de", "rivier")),))),
        ("boer*", Query((Word("boer", prefix=True),))),
        ("stikstof -mest", Query((Word("stikstof"),), (Word("mest"),))),
        ('pacht -"met de trekker"', Query((Word("pacht"),), (Phrase(("met", "de", "trekker")),))),
        ("noord-holland", Query((Phrase(("noord", "holland")),))),
        ('"onafgesloten citaat', Query((Phrase(("onafgesloten", "citaat")),))),
        ("één", Query((Word("een"),))),
        ("de boeren van het gebied", Query((Word("boeren"), Word("gebied")))),
        ("de het", Query((Word("de"), Word("het")))),
        ("boer boer", Query((Word("boer"),))),
        ("- boer", Query((Word("boer"),))),
    ],
)
def test_parse(text: str, expected: Query) -> None:
    """Words, phrases, prefixes and exclusions become the AST, folded, stop words out."""
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "-mest", '-"mest"', "b*", "!!!", "x" * 501])
def test_unsearchable_queries_are_refused(text: str) -> None:
    """Nothing to search for, a 1-letter prefix or an over-long query: QueryError."""
    with pytest.raises(QueryError):
        parse(text)


def test_too_many_clauses_are_refused() -> None:
    """More than 16 words and phrases: QueryError."""
    with pytest.raises(QueryError):
        parse(" ".join(f"woord{i}" for i in range(17)))


def test_folding_and_stemming() -> None:
    """Case and diacritics fold; the stemmer is PostgreSQL's (dutch_porter)."""
    assert fold("Één Fryslân İJssel") == "een fryslan ijssel"
    assert words("Wetterskip Fryslân, één/twee") == ["wetterskip", "fryslan", "een", "twee"]
    assert stem("boeren") == stem("boer") == "boer"
    assert stem("samenwerking") == stem("samenwerken") == "samenwerk"
    assert stem("gemeente") == "gemeent"  # Snowball 3's newer "dutch" would say "meen"
    assert index_text("De boeren <b>en</b> &amp; e\u0301e\u0301n") == "de boer b en b amp een"


def test_the_compiled_stemmer_agrees_with_the_pure_python_one() -> None:
    """PyStemmer (C, what `stem` uses) and snowballstemmer's own Python code: one algorithm."""
    import Stemmer
    from snowballstemmer.dutch_porter_stemmer import DutchPorterStemmer

    assert isinstance(dutch._stemmer, Stemmer.Stemmer)
    python = DutchPorterStemmer()
    sample = words(
        "Werken als één overheid: gemeenten, provincies en waterschappen bespreken de "
        "gebiedsprocessen, boerderijen, natuurherstel en stikstofdepositie in Fryslân en de "
        "Achterhoek; samenwerken met maatschappelijke partners, dynamisch programmeren, "
        "vitaal platteland, ruimtelijke ordening, 2026, koeien, grondprijzen, verdroging, "
        "kennisdeling, overheden, leefbaarheid, dorpsbelangen, uitvoeringsprogramma's"
    )
    assert [stem(w) for w in sample] == [python.stemWord(w) for w in sample]


def test_fts5_expression_quotes_every_term() -> None:
    """Words such as NOT or NEAR stay words; exclusions are NOT-ed; prefixes use stem and
    text, in whole words only (the `terms` column, not compounds' parts)."""
    q = parse('boeren NOT near* "ruimte voor" -mest')
    assert match_expression(q) == (
        '("boer" AND "not" AND terms : ("near"*) AND "ruimt vor") NOT ("mest")'
    )
    assert match_expression(parse("boere*")) == 'terms : ("boer"*)'
    assert match_expression(parse("natuur*")) == 'terms : ("natur"* OR "natuur"*)'


def test_snippet_marks_words_phrases_and_prefixes() -> None:
    """Matched words (any form) are marked, phrase words only where the phrase stands."""
    body = "De boer zegt: ruimte voor de rivier. Later meer ruimte, boerderijen."
    snippet = build_snippet(body, parse('boeren "ruimte voor" boerd*'), stem)
    s, e = MARK_START, MARK_END
    assert snippet == (
        f"De {s}boer{e} zegt: {s}ruimte{e} {s}voor{e} de rivier. Later meer ruimte, "
        f"{s}boerderijen{e}."
    )


def test_snippet_strips_markers_from_the_text() -> None:
    """Marker characters typed into a message never reach a snippet as markers."""
    snippet = build_snippet(f"{MARK_START}nep{MARK_END} boer", parse("boer"), stem)
    assert snippet == f"nep {MARK_START}boer{MARK_END}"


def test_long_snippet_is_cut_around_the_first_match() -> None:
    """A long message becomes about 240 characters around the match, with ellipses."""
    body = "Aanloop zonder treffer. " * 20 + "Hier staat pacht. " + "Uitloop. " * 40
    snippet = build_snippet(body, parse("pacht"), stem)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert f"{MARK_START}pacht{MARK_END}" in snippet
    assert len(snippet) <= 245

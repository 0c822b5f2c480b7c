"""Dutch compounds in search: split against the OpenTaal word list, on both databases.

One corpus per database for the whole module (posted once through the real write path);
tests that change messages post their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import literal_column, select, text

from persistence.db import Database
from persistence.models import Message
from persistence.search import compounds, postgres
from persistence.search.index import catch_up
from persistence.search.query import parse
from tests.helpers import Templates, postgres_up, require
from tests.search.conftest import Corpus

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

MESSAGES = {
    "standen": "De grondwaterstanden dalen elk jaar verder.",
    "buffers": "Zoetwaterbuffers aanleggen in de duinen.",
    "bel": "Een zoetwaterbel onder het eiland.",
    "drainage": "Proef met onderwaterdrainage in het veen.",
    "schappen": "De waterschappen betalen mee.",
    "water": "Het water stond hoog.",
    "melkvee": "De melkveehouderij krimpt.",
    "verband": "Een samenwerkingsverband van drie gemeenten.",
    "proces": "Het gebiedsproces loopt vertraging op.",
    "onbekend": "De flurbotappel van de gedeputeerde.",
    "stikstof": "Minder stikstof op het land.",
    "stof": "Het stof van de zandweg.",
    "twintig": "Twintig koeien in de wei.",
    "digits": "Er staan 20 koeien op stal.",
    "spraak": "Na ruggespraak met de provincie.",
}


def need_word_list() -> None:
    require("the Dutch word list (Debian's hunspell-nl)", compounds.DICTIONARY.exists())


@pytest_asyncio.fixture(
    scope="module",
    loop_scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
async def shared(
    request: pytest.FixtureRequest, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Corpus, dict[str, int]]]:
    """The module's corpus on one database, and the ids of MESSAGES by key."""
    need_word_list()
    if request.param == "sqlite":
        url = await templates.sqlite(Path(tmp_path_factory.mktemp("compounds")) / "test.db")
    else:
        require("PostgreSQL", postgres_up(), "127.0.0.1:5432")
        url = await templates.postgres()
    db = Database(url)
    corpus = Corpus(db)
    ids = {k: await corpus.post("theme-one", "ann", body) for k, body in MESSAGES.items()}
    try:
        yield corpus, ids
    finally:
        await db.dispose()
        if request.param == "postgres":
            await templates.drop_postgres(url)


# --- the splitter (pure) ----------------------------------------------------------------


def test_parts_of_compounds() -> None:
    """Parts and runs of adjacent parts; linking letters -s-, -en- left out of the parts."""
    need_word_list()
    assert {"grond", "water", "grondwater", "standen"} <= set(compounds.parts("grondwaterstanden"))
    assert "veehouderij" in compounds.parts("melkveehouderij")
    assert {"samenwerking", "verband"} <= set(compounds.parts("samenwerkingsverband"))
    assert {"gebied", "proces"} == set(compounds.parts("gebiedsproces"))
    assert {"boeren", "land"} == set(compounds.parts("boerenland"))


def test_simple_and_unknown_words_stay_whole() -> None:
    """A word that is no compound, or that the list does not know, has no parts."""
    need_word_list()
    for word in ("proces", "beleid", "gemeente", "verband", "flurbotappel", "water", "x1234"):
        assert compounds.parts(word) == (), word


def test_a_listed_word_with_a_rare_modifier_stays_whole() -> None:
    """`stikstof` is no stik + stof: "stik" is rarer than the word; grondwater does split."""
    need_word_list()
    for word in ("stikstof", "ambtenaren"):
        assert compounds.parts(word) == (), word
    assert {"grond", "water"} <= set(compounds.parts("grondwater"))
    assert {"water", "schappen"} <= set(compounds.parts("waterschappen"))
    # A modifier with its linking letter counts as the word it is: dorp(s)huis splits.
    assert "huis" in compounds.parts("dorpshuis")
    # A compound the list does not know is split as before, whatever the frequencies.
    assert {"zoet", "water", "bel"} <= set(compounds.parts("zoetwaterbel"))


def test_spelling_variants_come_from_the_list() -> None:
    """The list's forbidden spellings one linking letter (or c/k) from an allowed word."""
    found = compounds.spelling_variants(
        {"pannenkoek", "product", "ruggespraak", "stadhuis"},
        {"pannekoek", "produkt", "ruggenspraak", "stadshuis", "xyzzy"},
    )
    assert found["pannekoek"] == ("pannenkoek",)
    assert found["pannenkoek"] == ("pannekoek",)
    assert found["produkt"] == ("product",)
    assert found["ruggenspraak"] == ("ruggespraak",)
    assert found["stadhuis"] == ("stadshuis",)
    assert "xyzzy" not in found
    need_word_list()
    assert "ruggespraak" in compounds.variants("ruggenspraak")
    assert "ruggenspraak" in compounds.variants("ruggespraak")


def test_forbidden_words_are_not_parts(tmp_path: Path) -> None:
    """A word the list marks forbidden (Fw) is a variant, never a part."""
    dic = "4\nwater/CcZa\nstand/Cc\nwaterstant/Fw\nschap\n"
    vocab = compounds.read_vocabulary(_write(tmp_path / "nl.dic", dic))
    assert "waterstant" not in vocab.words
    assert vocab.variants == {}  # one edit away from no allowed word
    assert {"water", "stand", "schap"} <= vocab.words


def test_numbers_as_words_and_digits() -> None:
    """twee..twintig, the tens, honderd and duizend are indexed as digits, and back."""
    assert compounds.variants("twintig") == ("20",)
    assert compounds.variants("20") == ("twintig",)
    assert compounds.variants("duizend") == ("1000",)
    assert compounds.variants("veertig") == ("40",)
    assert compounds.variants("een") == ()  # the article, not the number
    assert compounds.variants("21") == ()
    assert set(compounds.parts_text("Twintig koeien, 100 schapen").split()) >= {"20", "honderd"}
    # Other numbers add nothing, and are not cached (each time of day would push out a word).
    assert compounds.parts_text("om 1430 op 20261207, 21 keer") == ""
    assert compounds.parts_text("om 14.30, 3 keer") == "veertien dertig drie"


def test_parts_text_is_stems_once() -> None:
    """The index's part field: stems of the parts, each once."""
    need_word_list()
    text = compounds.parts_text("Grondwaterstanden en grondwaterstanden, gebiedsprocessen!")
    assert text.split().count("water") == 1
    # The stemmer leaves "processen" as "process": a part is stemmed as the word would be.
    assert {"grond", "water", "stand", "gebied", "process"} <= set(text.split())


def test_without_the_word_list_nothing_splits(tmp_path: Path) -> None:
    """A missing or empty list splits nothing: search works as before."""
    vocab = compounds.read_vocabulary(_write(tmp_path / "nl.dic", "1\n"))
    assert not vocab.words


def _write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


# --- search, on both databases ------------------------------------------------------------


@MODULE_LOOP
async def test_a_part_finds_its_compounds(shared: tuple[Corpus, dict[str, int]]) -> None:
    """`water` finds grondwaterstanden, zoetwater…, onderwaterdrainage and waterschappen."""
    corpus, ids = shared
    want = {ids[k] for k in ("standen", "buffers", "bel", "drainage", "schappen", "water")}
    assert await corpus.ids("bob", "water") == want
    assert await corpus.ids("bob", "grondwater") == {ids["standen"]}
    assert await corpus.ids("bob", "buffer") == {ids["buffers"]}


@MODULE_LOOP
async def test_the_head_of_a_compound_finds_it(shared: tuple[Corpus, dict[str, int]]) -> None:
    """`veehouderij` finds melkveehouderij; `drainage` finds onderwaterdrainage."""
    corpus, ids = shared
    assert await corpus.ids("bob", "veehouderij") == {ids["melkvee"]}
    assert await corpus.ids("bob", "melk") == {ids["melkvee"]}
    assert await corpus.ids("bob", "drainage") == {ids["drainage"]}


@MODULE_LOOP
async def test_linking_letters(shared: tuple[Corpus, dict[str, int]]) -> None:
    """samenwerking-s-verband and gebied-s-proces are found by their parts."""
    corpus, ids = shared
    assert await corpus.ids("bob", "samenwerking") == {ids["verband"]}
    assert await corpus.ids("bob", "verbanden") == {ids["verband"]}
    assert await corpus.ids("bob", "gebied") == {ids["proces"]}
    assert await corpus.ids("bob", "proces") == {ids["proces"]}
    assert await corpus.ids("bob", "gebiedsproces") == {ids["proces"]}


@MODULE_LOOP
async def test_exact_matches_rank_above_parts(shared: tuple[Corpus, dict[str, int]]) -> None:
    """The message with the word `water` itself comes first."""
    corpus, ids = shared
    page = await corpus.page("bob", "water")
    assert page.hits[0].message_id == ids["water"]
    page = await corpus.page("bob", "waterschappen")
    assert [h.message_id for h in page.hits] == [ids["schappen"]]


@MODULE_LOOP
async def test_an_unknown_word_works_as_before(shared: tuple[Corpus, dict[str, int]]) -> None:
    """A word the list does not know is found whole, and only whole."""
    corpus, ids = shared
    assert await corpus.ids("bob", "flurbotappel") == {ids["onbekend"]}
    assert await corpus.ids("bob", "appel") == set()


@MODULE_LOOP
async def test_stikstof_is_one_word(shared: tuple[Corpus, dict[str, int]]) -> None:
    """`stof` finds the dust, not the nitrogen; `stikstof` finds the nitrogen only."""
    corpus, ids = shared
    assert await corpus.ids("bob", "stof") == {ids["stof"]}
    assert await corpus.ids("bob", "stik") == set()
    assert await corpus.ids("bob", "stikstof") == {ids["stikstof"]}


@MODULE_LOOP
async def test_numbers_find_each_other(shared: tuple[Corpus, dict[str, int]]) -> None:
    """`20` finds "twintig" and `twintig` finds "20", the exact form first."""
    corpus, ids = shared
    both = {ids["twintig"], ids["digits"]}
    assert await corpus.ids("bob", "20") == both
    assert await corpus.ids("bob", "twintig") == both
    assert (await corpus.page("bob", "20")).hits[0].message_id == ids["digits"]
    assert (await corpus.page("bob", "twintig")).hits[0].message_id == ids["twintig"]


@MODULE_LOOP
async def test_spelling_variants_find_each_other(shared: tuple[Corpus, dict[str, int]]) -> None:
    """The forbidden spelling `ruggenspraak` finds the message with "ruggespraak"."""
    corpus, ids = shared
    assert await corpus.ids("bob", "ruggenspraak") == {ids["spraak"]}
    assert await corpus.ids("bob", "ruggespraak") == {ids["spraak"]}


@MODULE_LOOP
async def test_prefixes_and_phrases_look_at_whole_words(
    shared: tuple[Corpus, dict[str, int]],
) -> None:
    """wat* finds words starting with "wat", not compounds with such a part; phrases stay exact."""
    corpus, ids = shared
    assert await corpus.ids("bob", "water*") == {ids["water"], ids["schappen"]}
    assert await corpus.ids("bob", '"het water"') == {ids["water"]}


@MODULE_LOOP
async def test_parts_keep_the_permission_and_hidden_rules(
    shared: tuple[Corpus, dict[str, int]],
) -> None:
    """A compound in a room the reader may not see, or hidden, is not found by a part."""
    corpus, _ = shared
    closed = await corpus.post("area-a", "ann", "Kwelwaterbeheer in gebied A.")
    hidden = await corpus.post("theme-one", "ann", "Kwelwaterbeheer, maar verborgen.")
    await corpus.hide(hidden)
    assert await corpus.ids("bob", "kwel") == set()
    assert await corpus.ids("ann", "kwel") == {closed}
    assert await corpus.ids("mo", "beheer") >= {closed}
    assert hidden not in await corpus.ids("mo", "beheer")


@MODULE_LOOP
async def test_an_edit_replaces_the_parts(shared: tuple[Corpus, dict[str, int]]) -> None:
    """After an edit the old compound's parts no longer find the message; the new ones do."""
    corpus, _ = shared
    m = await corpus.post("theme-two", "ann", "Een regenwaterput bij de boerderij.")
    assert await corpus.ids("bob", "regen") == {m}
    await corpus.edit(m, "Een mestkelder bij de boerderij.")
    assert await corpus.ids("bob", "regen") == set()
    assert await corpus.ids("bob", "kelder") == {m}


@MODULE_LOOP
async def test_catch_up_computes_missing_parts(shared: tuple[Corpus, dict[str, int]]) -> None:
    """After the upgrade PostgreSQL's parts are NULL; serve's catch-up fills them in."""
    corpus, ids = shared
    if corpus.db.is_sqlite:
        assert await catch_up(corpus.db) == 0  # the migration rebuilt SQLite's index
        return
    async with corpus.db.write() as session:
        await session.execute(
            text("UPDATE messages SET search_parts = NULL WHERE id = :id"), {"id": ids["bel"]}
        )
    assert ids["bel"] not in await corpus.ids("bob", "zoet")
    assert await catch_up(corpus.db) == 1
    assert ids["bel"] in await corpus.ids("bob", "zoet")
    assert await catch_up(corpus.db) == 0


@MODULE_LOOP
async def test_postgres_searches_with_the_new_index(
    shared: tuple[Corpus, dict[str, int]],
) -> None:
    """The match is written as the index expression, so the planner can use the index."""
    corpus, _ = shared
    if corpus.db.is_sqlite:
        return
    query = parse("water")
    async with corpus.db.read() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        stmt = select(literal_column("1")).select_from(Message.__table__)
        compiled = stmt.where(postgres.match(query)).compile(dialect=session.get_bind().dialect)
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
        conn = await session.connection()
        plan = (await conn.exec_driver_sql(f"EXPLAIN {compiled}", params)).scalars().all()
    assert any(postgres.INDEX_NAME in line for line in plan), plan

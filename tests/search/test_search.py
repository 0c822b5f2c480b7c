"""Search on SQLite and PostgreSQL: the same test bodies on both (the `database` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from persistence import search
from persistence.models import Ban, Message, MessageMark, Room, User
from persistence.search import MARK_END, MARK_START, engine
from tests.search.conftest import Corpus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# --- Dutch ---------------------------------------------------------------------------


async def test_plural_finds_singular_and_back(corpus: Corpus) -> None:
    """ "boeren" finds "boer" and "boer" finds "boeren": both stem to boer."""
    one = await corpus.post("theme-one", "ann", "Die boer wil meer grond.")
    many = await corpus.post("theme-one", "ann", "De boeren in het veenweidegebied.")
    await corpus.post("theme-one", "ann", "Niets over de landbouw hier.")
    assert await corpus.ids("bob", "boeren") == {one, many}
    assert await corpus.ids("bob", "boer") == {one, many}


async def test_samenwerking_meets_samenwerken(corpus: Corpus) -> None:
    """ "samenwerking", "samenwerken" and "samenwerkingen" share the stem samenwerk."""
    a = await corpus.post("theme-one", "ann", "Samenwerking met de provincie loopt goed.")
    b = await corpus.post("theme-one", "ann", "We willen samenwerken met het waterschap.")
    c = await corpus.post("theme-one", "ann", "Drie samenwerkingen gestart.")
    assert await corpus.ids("bob", "samenwerken") == {a, b, c}
    assert await corpus.ids("bob", "samenwerking") == {a, b, c}


async def test_diacritics_are_folded_both_ways(corpus: Corpus) -> None:
    """ "één" finds "een" and "een" finds "één"; "financiële" meets "financiele"."""
    accented = await corpus.post("theme-one", "ann", "Er is maar één oplossing.")
    plain = await corpus.post("theme-one", "ann", "Dat is een goed idee.")
    money = await corpus.post("theme-one", "ann", "De financiële middelen ontbreken.")
    assert await corpus.ids("bob", "één") == {accented, plain}
    assert await corpus.ids("bob", "een") == {accented, plain}
    assert await corpus.ids("bob", "financiele") == {money}
    assert await corpus.ids("bob", "Fryslân") == set()


async def test_case_is_folded(corpus: Corpus) -> None:
    """Upper and lower case meet."""
    m = await corpus.post("theme-one", "ann", "Het WATERSCHAP Hunze en Aa's.")
    assert await corpus.ids("bob", "waterschap") == {m}
    assert await corpus.ids("bob", "Waterschap") == {m}


async def test_stop_words_are_left_out_of_queries(corpus: Corpus) -> None:
    """A stop word in a query does not have to be in the message; alone it still searches."""
    m = await corpus.post("theme-one", "ann", "Grondprijzen stijgen.")
    assert await corpus.ids("bob", "de grondprijzen van het gebied") == await corpus.ids(
        "bob", "grondprijzen gebied"
    )
    assert await corpus.ids("bob", "de grondprijzen") == {m}
    assert await corpus.ids("bob", "het") == set()


# --- the query language ----------------------------------------------------------------


async def test_all_words_must_match(corpus: Corpus) -> None:
    """Two words find messages with both."""
    both = await corpus.post("theme-one", "ann", "Grondprijzen en pacht in Zeeland.")
    await corpus.post("theme-one", "ann", "Grondprijzen in Friesland.")
    assert await corpus.ids("bob", "grondprijzen zeeland") == {both}


async def test_phrase_needs_the_words_in_order(corpus: Corpus) -> None:
    """ "ruimte voor de rivier" finds the phrase, not the same words scattered."""
    phrase = await corpus.post("theme-one", "ann", "Het programma Ruimte voor de Rivier werkte.")
    await corpus.post("theme-one", "ann", "De rivier heeft ruimte nodig, voor iedereen.")
    assert await corpus.ids("bob", '"ruimte voor de rivier"') == {phrase}
    assert len(await corpus.ids("bob", "ruimte rivier")) == 2


async def test_prefix_matches_word_starts(corpus: Corpus) -> None:
    """boer* finds boer, boeren and boerderij, not zuivelboer."""
    a = await corpus.post("theme-one", "ann", "Een boer.")
    b = await corpus.post("theme-one", "ann", "Twee boerderijen.")
    c = await corpus.post("theme-one", "ann", "De boerenorganisatie LTO.")
    await corpus.post("theme-one", "ann", "Een zuivelboer.")
    assert await corpus.ids("bob", "boer*") == {a, b, c}
    assert await corpus.ids("bob", "boerderi*") == {b}


async def test_exclusion_leaves_messages_out(corpus: Corpus) -> None:
    """-mest and -"phrase" remove messages that have them."""
    keep = await corpus.post("theme-one", "ann", "Stikstof en natuur.")
    await corpus.post("theme-one", "ann", "Stikstof uit mest.")
    await corpus.post("theme-one", "ann", "Stikstof, rijden met de trekker.")
    assert await corpus.ids("bob", 'stikstof -mest -"met de trekker"') == {keep}


# --- filters -----------------------------------------------------------------------------


async def test_room_filter(corpus: Corpus) -> None:
    """room= limits hits to one room."""
    a = await corpus.post("theme-one", "ann", "Pacht in thema een.")
    await corpus.post("theme-two", "ann", "Pacht in thema twee.")
    assert await corpus.ids("bob", "pacht", room="theme-one") == {a}


async def test_author_filter(corpus: Corpus) -> None:
    """author= limits hits to one username; an unknown username finds nothing."""
    await corpus.post("theme-one", "ann", "Pacht volgens Ann.")
    bobs = await corpus.post("theme-one", "bob", "Pacht volgens Bob.")
    assert await corpus.ids("amy", "pacht", author="bob") == {bobs}
    assert await corpus.ids("amy", "pacht", author="nobody") == set()


async def test_layer_filter(corpus: Corpus) -> None:
    """layer= limits hits to authors of one government layer."""
    await corpus.post("theme-one", "ann", "Pacht, zegt de gemeente.")
    provincie = await corpus.post("theme-one", "bob", "Pacht, zegt de provincie.")
    assert await corpus.ids("amy", "pacht", layer="provincie") == {provincie}
    assert await corpus.ids("amy", "pacht", layer="rijk") == set()


async def test_date_range_after_inclusive_before_exclusive(corpus: Corpus) -> None:
    """after= keeps messages from that moment on, before= those strictly before."""
    early = await corpus.post("theme-one", "ann", "Pacht in februari.", at=T0 - timedelta(days=10))
    mid = await corpus.post("theme-one", "ann", "Pacht op één maart.", at=T0)
    late = await corpus.post("theme-one", "ann", "Pacht in april.", at=T0 + timedelta(days=40))
    assert await corpus.ids("bob", "pacht", after=T0) == {mid, late}
    assert await corpus.ids("bob", "pacht", before=T0) == {early}
    assert await corpus.ids("bob", "pacht", after=T0, before=T0 + timedelta(days=1)) == {mid}


# --- safety --------------------------------------------------------------------------------


async def test_other_area_is_never_found(corpus: Corpus) -> None:
    """bob (area-b) gets no hit from area-a, whatever he asks; ann (area-a) and staff do."""
    secret = await corpus.post("area-a", "ann", "Vertrouwelijk: grondprijzen Aldeboarn.")
    assert await corpus.ids("bob", "grondprijzen") == set()
    assert await corpus.ids("bob", "vertrouwelijk grondprijzen", sort=search.Sort.RECENT) == set()
    assert await corpus.ids("ann", "grondprijzen") == {secret}
    assert await corpus.ids("rita", "grondprijzen") == {secret}
    assert await corpus.ids("mo", "grondprijzen") == {secret}
    assert await corpus.ids("ada", "grondprijzen") == {secret}


async def test_unreadable_rooms_do_not_shorten_pages(corpus: Corpus) -> None:
    """Area-a messages ranked above bob's hits leave no trace: his pages are full, cursors follow."""
    for i in range(6):
        await corpus.post("area-a", "ann", f"Pacht pacht pacht geheim {i}.")
    visible = {await corpus.post("theme-one", "ann", f"Pacht openbaar {i}.") for i in range(3)}
    first = await corpus.page("bob", "pacht", limit=2)
    assert len(first.hits) == 2 and first.next_cursor is not None
    second = await corpus.page("bob", "pacht", limit=2, cursor=first.next_cursor)
    assert {h.message_id for h in first.hits + second.hits} == visible
    assert second.next_cursor is None
    assert all(h.room == "theme-one" for h in first.hits + second.hits)


async def test_banned_user_finds_nothing_of_that_room(corpus: Corpus) -> None:
    """An active ban hides the room's messages from search; an expired one does not."""
    m = await corpus.post("theme-one", "ann", "Stikstofdepositie rond Natura 2000.")
    async with corpus.db.write() as session:
        room = (await session.execute(select(Room.id).where(Room.slug == "theme-one"))).scalar()
        bob = (await session.execute(select(User.id).where(User.username == "bob"))).scalar()
        await session.execute(insert(Ban).values(room_id=room, user_id=bob, reason="test"))
    assert await corpus.ids("bob", "stikstofdepositie") == set()
    assert await corpus.ids("amy", "stikstofdepositie") == {m}
    async with corpus.db.write() as session:
        ban = await session.get(Ban, (room, bob))
        assert ban is not None
        ban.until = datetime.now(UTC) - timedelta(minutes=1)
    assert await corpus.ids("bob", "stikstofdepositie") == {m}


async def test_hidden_messages_are_never_found(corpus: Corpus) -> None:
    """A hidden or retracted message is found by no one, staff included."""
    m = await corpus.post("theme-one", "ann", "Een onaardige opmerking over de wethouder.")
    assert await corpus.ids("mo", "wethouder") == {m}
    await corpus.hide(m)
    for user in ("ann", "bob", "mo", "ada"):
        assert await corpus.ids(user, "wethouder") == set()
        assert await corpus.ids(user, "onaardige", sort=search.Sort.RECENT) == set()


async def test_edit_reindexes(corpus: Corpus) -> None:
    """After an edit the new words are found and the old ones are not."""
    m = await corpus.post("theme-one", "ann", "Vergadering over grondwater.")
    await corpus.edit(m, "Vergadering over oppervlaktewater.")
    assert await corpus.ids("bob", "grondwater") == set()
    assert await corpus.ids("bob", "oppervlaktewater") == {m}
    page = await corpus.page("bob", "oppervlaktewater")
    assert "grondwater" not in page.hits[0].snippet


async def test_snippet_marks_matches_and_keeps_markup_as_text(corpus: Corpus) -> None:
    """Snippets are plain text: <script> comes back as typed, markers only around matches."""
    await corpus.post(
        "theme-one", "ann", f'<script>alert("boeren")</script> Over {MARK_START}boeren{MARK_END}.'
    )
    snippet = (await corpus.page("bob", "boer")).hits[0].snippet
    assert "<script>alert(" in snippet
    assert snippet.count(MARK_START) == snippet.count(MARK_END) == 2
    assert f"{MARK_START}boeren{MARK_END}" in snippet
    outside = snippet.replace(f"{MARK_START}boeren{MARK_END}", "")
    assert MARK_START not in outside and MARK_END not in outside


async def test_snippet_of_a_long_message_is_around_the_match(corpus: Corpus) -> None:
    """A long message is cut to a stretch around the matched word."""
    body = "Lange inleiding zonder het woord. " * 30 + "Dan de grondprijzen. " + "Slot. " * 30
    await corpus.post("theme-one", "ann", body)
    snippet = (await corpus.page("bob", "grondprijzen")).hits[0].snippet
    assert f"{MARK_START}grondprijzen{MARK_END}" in snippet
    assert len(snippet) < 400


# --- order and paging ------------------------------------------------------------------------


async def test_recent_sort_is_newest_first(corpus: Corpus) -> None:
    """sort=recent orders by creation time, newest first."""
    ids = [
        await corpus.post("theme-one", "ann", f"Pacht {i}.", at=T0 + timedelta(hours=i))
        for i in range(4)
    ]
    page = await corpus.page("bob", "pacht", sort=search.Sort.RECENT)
    assert [h.message_id for h in page.hits] == list(reversed(ids))


async def test_relevance_prefers_more_matches(corpus: Corpus) -> None:
    """A message about the words ranks above one that mentions them once in passing."""
    passing = await corpus.post(
        "theme-one",
        "ann",
        "Lang verhaal over van alles en nog wat, ook over pacht, en verder niets.",
    )
    about = await corpus.post("theme-one", "ann", "Pacht: pacht en pachtprijzen, pacht.")
    page = await corpus.page("bob", "pacht")
    assert [h.message_id for h in page.hits] == [about, passing]


async def test_cursor_paging_is_complete_and_stable(corpus: Corpus) -> None:
    """Paging by 3 gives every hit once, in the order of one big page, even with new posts."""
    for i in range(10):
        words = " ".join(["pacht"] * (1 + i % 4))
        await corpus.post("theme-one", "ann", f"{words} nummer {i}", at=T0 + timedelta(minutes=i))
    for sort in (search.Sort.RECENT, search.Sort.RELEVANCE):
        whole = [
            h.message_id for h in (await corpus.page("bob", "pacht", sort=sort, limit=100)).hits
        ]
        paged: list[int] = []
        cursor = None
        while True:
            page = await corpus.page("bob", "pacht", sort=sort, limit=3, cursor=cursor)
            paged += [h.message_id for h in page.hits]
            if sort is search.Sort.RECENT and len(paged) == 3:
                # Newer than every hit: it must not shift the pages still to come.
                await corpus.post("theme-one", "ann", "pacht, nieuw", at=T0 + timedelta(days=1))
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert paged == whole, sort
        assert len(whole) >= 10


async def test_foreign_cursor_is_refused(corpus: Corpus) -> None:
    """A cursor of another query (or garbage) raises CursorError."""
    for i in range(3):
        await corpus.post("theme-one", "ann", f"Pacht {i}.")
    page = await corpus.page("bob", "pacht", limit=1)
    assert page.next_cursor is not None
    with pytest.raises(search.CursorError):
        await corpus.page("bob", "grond", limit=1, cursor=page.next_cursor)
    with pytest.raises(search.CursorError):
        await corpus.page("amy", "pacht", limit=1, cursor=page.next_cursor)
    with pytest.raises(search.CursorError):
        await corpus.page("bob", "pacht", limit=1, cursor="!!not-a-cursor")


async def test_paging_across_spans_of_ids(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    """With tiny spans (4 ids, 2 spans per statement) paging still gives every hit once."""
    monkeypatch.setattr(engine, "MIN_SPAN_IDS", 4)
    monkeypatch.setattr(engine, "MAX_SPAN_IDS", 4)
    monkeypatch.setattr(engine, "SPAN_ARMS", 2)
    monkeypatch.setattr(engine, "SPANS_ABOVE_MATCHES", -1)  # spans even for a few matches
    matching = []
    for i in range(30):
        if i % 3 == 2:
            await corpus.post("theme-one", "ann", f"Iets anders {i}.")
            continue
        words = " ".join(["pacht"] * (1 + i % 4))
        at = T0 + timedelta(minutes=i)
        matching.append(await corpus.post("theme-one", "ann", f"{words} {i}", at=at))
    for sort in search.Sort:
        seen: list[int] = []
        cursor = None
        for _ in range(100):
            page = await corpus.page("bob", "pacht", sort=sort, limit=3, cursor=cursor)
            assert len(page.hits) <= 3
            seen += [h.message_id for h in page.hits]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert sorted(seen) == sorted(matching) and len(seen) == len(set(seen)), sort
        if not corpus.db.is_sqlite:
            spans = [mid // 4 for mid in seen]
            assert spans == sorted(spans, reverse=True)  # newer spans first


async def test_mark_and_theme_filters(corpus: Corpus) -> None:
    """mark= keeps marked messages (open=1: still open ones); theme= keeps tagged ones."""
    from persistence.marks import set_answered, set_mark, set_themes, themes_by_slug
    from rooms.marks import MarkKind

    decision = await corpus.post("theme-one", "ann", "Pacht: besloten, we verlengen.")
    question = await corpus.post("theme-one", "ann", "Pacht: wie weet de prijs?")
    answered = await corpus.post("theme-one", "ann", "Pacht: hoe lang nog?")
    reply = await corpus.post("theme-one", "amy", "Tot 2030.")
    plain = await corpus.post("theme-one", "ann", "Pacht zonder meer.")
    async with corpus.db.write() as s:
        room = (await s.execute(select(Room).where(Room.slug == "theme-one"))).scalar_one()
        ann = (await s.execute(select(User).where(User.username == "ann"))).scalar_one()

        async def message(mid: int) -> Message:
            found = await s.get(Message, mid)
            assert found is not None
            return found

        await set_mark(s, room, await message(decision), ann, MarkKind.BESLUIT, None, None, None)
        await set_mark(s, room, await message(question), ann, MarkKind.VRAAG, None, None, None)
        await set_mark(s, room, await message(answered), ann, MarkKind.VRAAG, None, None, None)
        mark = await s.get(MessageMark, answered)
        assert mark is not None
        await set_answered(s, room, mark, await message(reply), ann)
        themes = await themes_by_slug(s, ["theme-two"])
        await set_themes(s, room, await message(plain), ann, list(themes.values()))
    assert await corpus.ids("bob", "pacht", mark="besluit") == {decision}
    assert await corpus.ids("bob", "pacht", mark="vraag") == {question, answered}
    assert await corpus.ids("bob", "pacht", mark="vraag", open_only=True) == {question}
    assert await corpus.ids("bob", "pacht", theme="theme-two") == {plain}
    assert await corpus.ids("bob", "pacht", theme="theme-one") == set()

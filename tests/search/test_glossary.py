"""The glossary: moderators' abbreviations and synonyms widen search, in both directions."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from persistence.community import upsert_community
from persistence.models import AuditEntry
from persistence.moderation import Source
from persistence.search.glossary import Entry, expand, matched_via
from persistence.search.query import parse
from rooms.community import parse_community
from tests.helpers import bearer, login
from tests.search.conftest import Corpus

ENTRIES = [
    Entry("NPLG", "Nationaal Programma Landelijk Gebied"),
    Entry("LVVN", "het ministerie"),
    Entry("IBP VP", "Vitaal Platteland"),
]


def test_a_term_widens_to_what_it_means_and_back() -> None:
    """NPLG looks for the long form too, the long form (typed or quoted) for NPLG."""
    assert expand(parse("NPLG stikstof"), ENTRIES).describe() == (
        '(nplg | "nationaal programma landelijk gebied") stikstof'
    )
    assert expand(parse("nationaal programma landelijk gebied"), ENTRIES).describe() == (
        '("nationaal programma landelijk gebied" | nplg)'
    )
    assert expand(parse('"vitaal platteland"'), ENTRIES).describe() == (
        '("vitaal platteland" | "ibp vp")'
    )
    assert expand(parse("IBP VP"), ENTRIES).describe() == '("ibp vp" | "vitaal platteland")'


def test_stop_words_at_the_edges_of_a_side_are_left_out() -> None:
    """ "het ministerie" is looked for as "ministerie"; exclusions widen too."""
    assert expand(parse("LVVN"), ENTRIES).describe() == "(lvvn | ministerie)"
    assert expand(parse("ministerie"), ENTRIES).describe() == "(ministerie | lvvn)"
    assert expand(parse("boer -LVVN"), ENTRIES).describe() == "boer -(lvvn | ministerie)"


def test_words_the_glossary_does_not_know_are_unchanged() -> None:
    """No entry, no change; prefixes are never widened."""
    for q in ("boer", "nplg*", '"landelijk gebied"', "programma"):
        assert expand(parse(q), ENTRIES) == parse(q)


def test_matched_via_names_the_entry_only_when_the_typed_words_miss() -> None:
    """A hit that has the typed word needs no reason; one found by the other side names it."""
    q = expand(parse("NPLG"), ENTRIES)
    assert matched_via("Het Nationaal Programma Landelijk Gebied komt.", q) == ["NPLG"]
    assert matched_via("Het NPLG komt.", q) == []


def test_the_community_file_has_a_glossary_section() -> None:
    """`[[glossary]]` entries are read with the rest of the file."""
    text = '[[glossary]]\nterm = "NPLG"\nmeans = "Nationaal Programma Landelijk Gebied"\n'
    community = parse_community(text, "c.toml")
    assert [(g.term, g.means) for g in community.glossary] == [
        ("NPLG", "Nationaal Programma Landelijk Gebied")
    ]


async def test_glossary_api_and_search(
    server: str, client: httpx.AsyncClient, corpus: Corpus
) -> None:
    """Moderators keep the glossary; search finds both sides and says why."""
    long_form = await corpus.post("theme-one", "ann", "Het Nationaal Programma Landelijk Gebied.")
    short = await corpus.post("theme-one", "ann", "Het NPLG is er.")
    member, mod = await login(client, server, "bob"), await login(client, server, "mo")
    url = f"{server}/api/glossary"
    entry = {"term": "NPLG", "means": "Nationaal Programma Landelijk Gebied"}
    r = await client.post(url, json=entry, headers=bearer(member))
    assert r.status_code == 403, r.text
    r = await client.post(url, json=entry, headers=bearer(mod))
    assert r.status_code == 201, r.text
    entry_id = r.json()["id"]
    assert (await client.post(url, json=entry, headers=bearer(mod))).status_code == 409
    listed = (await client.get(url, headers=bearer(member))).json()["entries"]
    assert listed == [{"id": entry_id, **entry}]

    async def search(q: str) -> dict[int, list[str]]:
        r = await client.get(f"{server}/api/search", params={"q": q}, headers=bearer(member))
        assert r.status_code == 200, r.text
        return {h["message_id"]: h["matched_via"] for h in r.json()["hits"]}

    assert await search("nplg") == {short: [], long_form: ["NPLG"]}
    assert await search("nationaal programma landelijk gebied") == {
        long_form: [],
        short: ["NPLG"],
    }
    r = await client.delete(f"{url}/{entry_id}", headers=bearer(member))
    assert r.status_code == 403
    assert (await client.delete(f"{url}/{entry_id}", headers=bearer(mod))).status_code == 204
    assert await search("nplg") == {short: []}
    assert (await client.delete(f"{url}/{entry_id}", headers=bearer(mod))).status_code == 404

    # Both changes are audited: who, what, and the entry before and after; refused ones not.
    r = await client.get(f"{server}/api/audit", params={"kind": "glossary"}, headers=bearer(mod))
    assert r.status_code == 200, r.text
    audit = [e for e in r.json()["entries"] if e["target"] == str(entry_id)]
    assert [(e["action"], e["actor"], e["values"]) for e in audit] == [
        ("glossary_remove", "mo", entry),
        ("glossary_add", "mo", entry),
    ]
    async with corpus.db.read() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.details)
            .where(AuditEntry.target == str(entry_id), AuditEntry.action.like("glossary_%"))
            .order_by(AuditEntry.id)
        )
        details = {action: d for action, d in rows}
    assert details["glossary_add"]["before"] is None
    assert details["glossary_add"]["after"] == entry
    assert details["glossary_remove"]["before"] == entry
    assert details["glossary_remove"]["after"] is None
    r = await client.get(f"{server}/api/audit", params={"kind": "glossary"}, headers=bearer(member))
    assert r.status_code == 403


async def test_load_audits_the_entries_it_adds(corpus: Corpus) -> None:
    """`werkplaats load` adds `[[glossary]]` entries as the operator, audited; a second load
    of the same file adds and audits nothing."""
    text = '[[glossary]]\nterm = "LVVN"\nmeans = "het ministerie van LVVN"\n'
    operator = Source("cli:beheer", "cli@host")
    for _ in range(2):
        async with corpus.db.write() as session:
            await upsert_community(session, parse_community(text, "c.toml"), {}, operator)
    async with corpus.db.read() as session:
        rows = (
            await session.execute(
                select(AuditEntry.actor, AuditEntry.details).where(
                    AuditEntry.action == "glossary_add", AuditEntry.actor == "cli:beheer"
                )
            )
        ).all()
    pair = {"term": "LVVN", "means": "het ministerie van LVVN"}
    assert [(r.actor, r.details) for r in rows] == [
        ("cli:beheer", {**pair, "before": None, "after": pair})
    ]

"""The public pages without a session: nothing leaks, everything is escaped, the feed is
Atom, answers revalidate by ETag, and the filters and search see published text only."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import feedparser
import httpx
from sqlalchemy import update

from persistence.db import Database
from persistence.models import User
from tests.clients import Api
from tests.helpers import make_settings, running_server
from tests.moderation.conftest import post
from tests.persistence.posting import post_all
from tests.public.conftest import LESSON, agree, make_lesson

USERNAMES = ("ann", "amy", "bob", "rita", "mo", "ada")
INJECTIONS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "<svg/onload=alert(1)>",
    "]]><!--<a href=javascript:alert(1)>x</a>",
    "&lt;b&gt;al ontsnapt&lt;/b&gt; {{ 7*7 }} {% raw %}",
    "</title><style>body{display:none}</style>",
)


async def public_answers(api: Api, pid: int) -> dict[str, str]:
    """Every public response that could show the publication, by path."""
    paths = [
        "/openbaar",
        f"/openbaar/{pid}",
        "/openbaar/feed.xml",
        "/openbaar?q=keukentafel",
        "/openbaar?layer=waterschap",
        f"/openbaar?theme={LESSON['theme']}",
    ]
    found = {}
    for path in paths:
        r = await api.get(None, path)
        assert r.status_code == 200, (path, r.text)
        found[path] = r.text
    return found


async def test_nothing_leaks_from_the_area_room(api: Api, database: Database) -> None:
    """Usernames, other messages, area room names and slugs, names not allowed, message ids:
    none of them in any public answer."""
    # Message ids well above the numbers a date or a time prints.
    fillers = await post_all(
        database, [("area-b", "bob", f"vulling {n}", f"f-{n}") for n in range(70)]
    )
    secret = await post(database, "area-a", "ann", "Het geheime bod van de boer is 12 ton.")
    q = await post(database, "area-a", "ann", "Hoe krijgen we iedereen aan de keukentafel?")
    a = await post(database, "area-a", "amy", "Door het waterschap als gastheer te vragen.")
    pid = (await make_lesson(api, "rita", "area-a", [q, a]))["id"]
    await agree(api, "ann", pid, show_name=False)
    await agree(api, "amy", pid, show_name=True)
    answers = await public_answers(api, pid)
    detail = answers[f"/openbaar/{pid}"]
    assert "keukentafel" in detail and "Amy Arends" in detail
    assert "Gemeente A (Gemeente)" in detail
    for path, text in answers.items():
        for name in USERNAMES:
            assert not re.search(rf"\b{name}\b", text), (path, name)
        for forbidden in ("Gebied A", "Gebied B", "area-a", "area-b", "Ann Aalders"):
            assert forbidden not in text, (path, forbidden)
        assert "geheime bod" not in text and "vulling" not in text, path
        for mid in (secret, q, a, fillers[-1].message_id):
            assert not re.search(rf"\b{mid}\b", text), (path, mid)


async def test_names_in_free_text_are_reduced(api: Api, database: Database) -> None:
    """Names of people who did not choose to be named, in quotes and in what the moderator
    wrote, become organisation and layer or "[naam]"; contact details go too; the name of
    an author who chose to be named stays."""
    q = await post(
        database,
        "area-a",
        "ann",
        "Ik sprak @bob en Rita Roomhoeder bij de keukentafel; mail ann@gemeente-a.nl of "
        "bel 06-12345678. Mevrouw Jansen was er ook.",
    )
    a = await post(database, "area-a", "amy", "Dat klopt, zegt Amy Arends (@amy).")
    title = "Wat Bob Bakker leerde"
    pid = (await make_lesson(api, "rita", "area-a", [q, a], title=title))["id"]
    await agree(api, "ann", pid, show_name=False)
    await agree(api, "amy", pid, show_name=True)
    answers = await public_answers(api, pid)
    detail = answers[f"/openbaar/{pid}"]
    assert "Provincie B (Provincie)" in detail and "Mevrouw [naam]" in detail
    assert "[e-mailadres]" in detail and "[telefoonnummer]" in detail
    assert "zegt Amy Arends (Amy Arends)" in detail
    for path, text in answers.items():
        for gone in ("Bob", "Bakker", "Rita", "Roomhoeder", "Jansen", "12345678", "gemeente-a.nl"):
            assert gone not in text, (path, gone)
    # Nor does the search find it by a name its page does not show.
    for word in ("roomhoeder", "jansen", "bakker", "keukentafel"):
        found = (await api.get(None, f"/openbaar?q={word}")).text
        assert (f'data-id="{pid}"' in found) is (word == "keukentafel"), word


async def test_pending_and_withdrawn_answer_404(api: Api, database: Database) -> None:
    """A pending or withdrawn publication is a 404 page to outsiders, as is an unknown id."""
    mid = await post(database, "area-a", "ann", "tekst")
    pid = (await make_lesson(api, "rita", "area-a", [mid]))["id"]
    for path in (f"/openbaar/{pid}", "/openbaar/999999", f"/openbaar/{2**63}"):
        r = await api.get(None, path)
        assert r.status_code == 404 and "teruggetrokken" in r.text, path
    await agree(api, "ann", pid)
    assert (await api.get(None, f"/openbaar/{pid}")).status_code == 200
    assert (await api.call("rita", "DELETE", f"/api/publications/{pid}")).status_code == 204
    assert (await api.get(None, f"/openbaar/{pid}")).status_code == 404


class Scan(HTMLParser):
    """Collects what an injection would add: elements and event-handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            link = name in ("href", "src") and (value or "").strip().startswith("javascript:")
            if name.startswith("on") or link:
                self.handlers.append(name)


async def test_injections_through_title_body_and_names_are_escaped(
    api: Api, database: Database
) -> None:
    """Each payload in the title, the card's parts, a quote and the author's name and
    organisation comes out as text: no element, no handler, the feed still parses."""
    for n, payload in enumerate(INJECTIONS):
        async with database.write() as session:
            await session.execute(
                update(User)
                .where(User.username == "amy")
                .values(display_name=payload, organisation=payload)
            )
        mid = await post(database, "area-a", "amy", payload)
        fields = {
            k: payload for k in ("title", "body", "context", "worked", "did_not_work", "area")
        }
        pid = (await make_lesson(api, "rita", "area-a", [mid], theme=f"t{n}", **fields))["id"]
        await agree(api, "amy", pid, show_name=True)
        for path in (f"/openbaar/{pid}", f"/openbaar?theme=t{n}", "/openbaar"):
            page = (await api.get(None, path)).text
            assert payload not in page, (path, payload)
            scan = Scan()
            scan.feed(page)
            assert "script" not in scan.tags and "img" not in scan.tags, (path, payload)
            assert "svg" not in scan.tags and scan.handlers == [], (path, payload)
            assert scan.tags.count("title") == 1 and scan.tags.count("style") == 0
        feed = feedparser.parse((await api.get(None, "/openbaar/feed.xml")).content)
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.entries[0].title == payload


async def test_the_feed_is_atom(api: Api, database: Database) -> None:
    """feedparser reads Atom 1.0 with the entries newest first, links and authors."""
    empty = feedparser.parse((await api.get(None, "/openbaar/feed.xml")).content)
    assert not empty.bozo and empty.version == "atom10" and empty.entries == []
    ids = []
    for n in range(2):
        mid = await post(database, "area-a", "amy", f"bericht {n}")
        pid = (await make_lesson(api, "rita", "area-a", [mid], title=f"Les {n}"))["id"]
        await agree(api, "amy", pid, show_name=n == 1)
        ids.append(pid)
    r = await api.get(None, "/openbaar/feed.xml")
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo and feed.version == "atom10"
    assert feed.feed.title.startswith("De Werkplaats")
    assert [e.title for e in feed.entries] == ["Les 1", "Les 0"]
    assert feed.entries[0].link.endswith(f"/openbaar/{ids[1]}")
    assert feed.entries[0].author == "Amy Arends — Waterschap A (Waterschap)"
    assert feed.entries[1].author == "Waterschap A (Waterschap)"
    assert feed.entries[0].summary == LESSON["body"]


async def test_etag_and_304(api: Api, database: Database) -> None:
    """Each page and the feed has an ETag; If-None-Match gives 304 until something changes."""
    mid = await post(database, "area-a", "ann", "tekst")
    pid = (await make_lesson(api, "rita", "area-a", [mid]))["id"]
    await agree(api, "ann", pid)
    for path in ("/openbaar", f"/openbaar/{pid}", "/openbaar/feed.xml"):
        first = await api.get(None, path)
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "public, no-cache"
        again = await api.call(None, "GET", path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"", path
        assert again.headers["etag"] == etag
    before = (await api.get(None, "/openbaar")).headers["etag"]
    assert (await api.call("ann", "DELETE", f"/api/publications/{pid}")).status_code == 204
    after = await api.call(None, "GET", "/openbaar", headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before


async def test_filters_and_search_see_published_text_only(api: Api, database: Database) -> None:
    """Theme, area and layer filter; the search finds published words, not a pending
    lesson's nor an unquoted message's."""
    await post(database, "area-a", "ann", "onzichtbaarwoord staat alleen in de kamer")
    m1 = await post(database, "area-a", "ann", "Over drainage en zoutwater")
    m2 = await post(database, "area-a", "amy", "Over bermbeheer")
    m3 = await post(database, "area-a", "amy", "Over wachtwoordloos")
    one = (await make_lesson(api, "rita", "area-a", [m1], title="Drainage", theme="Water",
                             area="Noord", layers=["waterschap"]))["id"]  # fmt: skip
    two = (await make_lesson(api, "rita", "area-a", [m2], title="Bermen", theme="Natuur",
                             area="Zuid", layers=["gemeente"]))["id"]  # fmt: skip
    await make_lesson(api, "rita", "area-a", [m3], title="Wachtwoordloos")
    await agree(api, "ann", one)
    await agree(api, "amy", two)

    async def shown(query: str) -> set[int]:
        text = (await api.get(None, f"/openbaar{query}")).text
        return {int(x) for x in re.findall(r'href="/openbaar/(\d+)"', text)}

    assert await shown("") == {one, two}
    assert await shown("?theme=Water") == {one}
    assert await shown("?area=Zuid") == {two}
    assert await shown("?layer=gemeente") == {two}
    assert await shown("?layer=koninkrijk") == {one, two}
    assert await shown("?q=ZOUTWATER") == {one}
    assert await shown("?q=drainage+zoutwater") == {one}
    assert await shown("?q=onzichtbaarwoord") == set()
    assert await shown("?q=wachtwoordloos") == set()
    assert await shown("?q=%25") == set()
    assert await shown("?page=abc") == {one, two}
    past = (await api.get(None, "/openbaar?page=99")).text
    assert "2 publicaties" in past and "Er zijn (nog) geen publicaties" in past


async def test_robots_setting_and_stylesheet_under_the_csp(db_url: str) -> None:
    """By default the pages ask not to be indexed; the setting allows it. The stylesheet
    is same-origin, so the CSP's `style-src 'self'` admits it."""
    for indexable in (False, True):
        settings = make_settings(db_url, public_indexable=indexable)
        async with running_server(settings) as base, httpx.AsyncClient(timeout=10) as client:
            r = await client.get(f"{base}/openbaar")
            assert ("noindex" in r.text) is not indexable
            assert ("x-robots-tag" in r.headers) is not indexable
            assert "style-src 'self'" in r.headers["content-security-policy"]
            assert "<style" not in r.text and " style=" not in r.text
            css = re.search(r'<link rel="stylesheet" href="(/static/[^"]+)"', r.text)
            assert css is not None
            sheet = await client.get(f"{base}{css.group(1)}")
            assert sheet.status_code == 200 and "text/css" in sheet.headers["content-type"]
            assert 'property="og:title"' in r.text and 'lang="nl"' in r.text

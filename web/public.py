"""The public pages: `/openbaar` (the list), `/openbaar/{id}` (one publication) and
`/openbaar/feed.xml` (Atom, RFC 4287), served to anyone without a session.

Only what was published is read: the title, the text and the structured parts of the card,
the quoted messages' text, and the authors as organisation and layer (by name where they
chose so). The source room, usernames and message ids never reach a template. HTML comes
from Jinja2 templates with autoescape on; the feed is built with ElementTree. Every answer
carries an ETag over its bytes and `Cache-Control: public, no-cache`, so caches may keep
a page but ask each time (304 when unchanged): a withdrawal is gone at once.

Free text (title, text, parts, quotes, a verslag's text, summaries) goes through
`rooms.redact` first: the names of people the server knows, `@usernames`, names after a
title or initials, e-mail addresses and telephone numbers are reduced, except the names of
authors who chose to be named. The labels (theme, area) are shown as the moderator wrote
them.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import msgspec
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from persistence import publications as repo
from persistence.models import Publication, PublicationAuthor, User
from persistence.publications import PublicFilters
from rooms.dutchtime import DUTCH
from rooms.markdown import sanitise
from rooms.model import Layer
from rooms.publications import public_author, redactor_of, search_words
from rooms.redact import Redactor
from web.assets import Assets
from web.deps import services
from web.settings import Settings
from web.wire import Query

TEMPLATES = Path(__file__).parent / "templates"
ATOM = "http://www.w3.org/2005/Atom"
CACHE = "public, no-cache"
NOINDEX = "noindex, nofollow"
SITE = "De Werkplaats Vitaal Platteland"
LAYER_NAMES = {
    Layer.RIJK: "Rijk",
    Layer.PROVINCIE: "Provincie",
    Layer.GEMEENTE: "Gemeente",
    Layer.WATERSCHAP: "Waterschap",
    Layer.OVERIG: "Overig",
}
DUTCH_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip
# Longer query values are cut: they could match nothing a title or label holds.
MAX_QUERY_CHARS = 200


class ListQuery(Query):
    q: str = ""
    theme: str = ""
    area: str = ""
    layer: str = ""
    page: int = 1


def dutch_date(moment: datetime | None) -> str:
    if moment is None:
        return ""
    day = moment.astimezone(DUTCH)
    return f"{day.day} {DUTCH_MONTHS[day.month - 1]} {day.year}"


def layer_name(layer: str) -> str:
    return LAYER_NAMES.get(Layer(layer), layer) if layer in Layer._value2member_map_ else layer


def layers_of(publication: Publication) -> list[str]:
    return [layer_name(x) for x in publication.layers.split(",") if x]


def author_labels(authors: list[tuple[PublicationAuthor, User]]) -> dict[int, str]:
    """Each consenting author's public label: organisation and layer, the name if allowed."""
    return {
        user.id: public_author(
            user.organisation,
            layer_name(user.layer),
            user.display_name if answer.show_name else None,
        )
        for answer, user in authors
    }


# A summary reduces names in this much of the text before cutting it to 300 characters (so
# that no name is cut in half before it could be found).
SUMMARY_READ = 500


def summary(body: str, limit: int = 300) -> str:
    text = " ".join(body.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# How long a process keeps the list of people it reduces names of (a renamed or new
# account is known to the public pages after at most this long).
PEOPLE_SECONDS = 30.0
TEXTS = ("title", "body", "context", "worked", "did_not_work")


class People:
    """Everyone the server knows, as `rooms.redact` needs them; read again when older than
    `PEOPLE_SECONDS` (one short query, not one per page)."""

    def __init__(self) -> None:
        self.redactor: Redactor | None = None
        self.read_at = -math.inf

    async def redactor_for(self, session: AsyncSession) -> Redactor:
        now = time.monotonic()
        if self.redactor is None or now - self.read_at > PEOPLE_SECONDS:
            self.redactor = redactor_of(await repo.people(session))
            self.read_at = now
        return self.redactor


def named(authors: list[tuple[PublicationAuthor, User]]) -> frozenset[str]:
    """The usernames of the authors who chose to be named: their names stay in the text."""
    return frozenset(u.username for a, u in authors if a.show_name and a.consent)


def texts(redactor: Redactor, p: Publication, keep: Collection[str] = ()) -> dict[str, str]:
    """The publication's free text as the public reads it."""
    return {k: redactor.text(getattr(p, k) or "", keep) for k in TEXTS}


@dataclass(frozen=True, slots=True)
class Pages:
    """The templates and the static prefix, made once per process by `routes()`."""

    env: Environment
    css: str

    @classmethod
    def load(cls, assets: Assets) -> Pages:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        return cls(env, f"{assets.prefix}/openbaar.css")

    def render(self, request: Request, name: str, status: int = 200, **values: Any) -> Response:
        settings = services(request).settings
        html = self.env.get_template(name).render(
            css=self.css,
            site=SITE,
            indexable=settings.public_indexable,
            base=base_url(request, settings),
            **values,
        )
        return cached(request, html.encode(), "text/html; charset=utf-8", settings, status)


def base_url(request: Request, settings: Settings) -> str:
    """The server's public address, for Open Graph and the feed's absolute links."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def cached(
    request: Request, content: bytes, media_type: str, settings: Settings, status: int = 200
) -> Response:
    """`content` with an ETag over its bytes; 304 when the client holds this very version."""
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE}
    if not settings.public_indexable:
        headers["X-Robots-Tag"] = NOINDEX
    held = {
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    }
    if status == 200 and (etag in held or "*" in held):
        return Response(status_code=304, headers=headers)
    return Response(content, status_code=status, media_type=media_type, headers=headers)


def _list_query(request: Request) -> ListQuery:
    given = {k: v[:MAX_QUERY_CHARS] for k, v in request.query_params.items() if v != ""}
    try:
        asked = msgspec.convert(given, ListQuery, strict=False)
    except msgspec.ValidationError:
        asked = ListQuery()
    if asked.layer not in Layer._value2member_map_:
        asked.layer = ""
    asked.page = min(max(asked.page, 1), 10_000)
    return asked


def routes(assets: Assets) -> list[BaseRoute]:
    """The public pages; `assets` gives the versioned address of their stylesheet."""
    pages = Pages.load(assets)
    people = People()

    async def index(request: Request) -> Response:
        asked = _list_query(request)
        size = services(request).settings.public_page_size
        filters = PublicFilters(
            theme=asked.theme, area=asked.area, layer=asked.layer, words=search_words(asked.q)
        )
        async with services(request).db.read() as session:
            found, total = await repo.public_page(
                session, filters, limit=size, offset=(asked.page - 1) * size
            )
            themes, areas = await repo.public_labels(session)
            redactor = await people.redactor_for(session)
        items = [
            {
                "id": p.id,
                "title": redactor.text(p.title),
                "summary": summary(redactor.text(p.body[:SUMMARY_READ])),
                "date": dutch_date(p.published_at),
                "iso": p.published_at.isoformat() if p.published_at else "",
                "theme": p.theme,
                "area": p.area,
                "layers": layers_of(p),
            }
            for p in found
        ]
        pages_total = max(1, math.ceil(total / size))
        return pages.render(
            request,
            "openbaar/list.html",
            items=items,
            total=total,
            asked=asked,
            themes=themes,
            areas=areas,
            layers=[(layer.value, name) for layer, name in LAYER_NAMES.items()],
            page=asked.page,
            pages_total=pages_total,
            filtered=bool(asked.q or asked.theme or asked.area or asked.layer),
            query_for=lambda page: _query_string(asked, page),
        )

    async def detail(request: Request) -> Response:
        publication_id: int = request.path_params["publication_id"]
        async with services(request).db.read() as session:
            found = await repo.get(session, publication_id) if publication_id < 2**62 else None
            if found is None or found.status != repo.PUBLISHED:
                return pages.render(request, "openbaar/notfound.html", status=404)
            authors = (await repo.authors_of(session, [found.id]))[found.id]
            quotes = await repo.quotes_of(session, found.id)
            redactor = await people.redactor_for(session)
        labels = author_labels(authors)
        keep = named(authors)
        shown = texts(redactor, found, keep)
        return pages.render(
            request,
            "openbaar/detail.html",
            p=found,
            t=shown,
            date=dutch_date(found.published_at),
            iso=found.published_at.isoformat() if found.published_at else "",
            layers=layers_of(found),
            authors=list(dict.fromkeys(labels.values())),
            quotes=[
                {
                    "body": redactor.text(q.body, keep),
                    "author": labels.get(q.author_id, "Deelnemer"),
                    "date": dutch_date(q.written_at),
                }
                for q in quotes
            ],
            summary=summary(shown["body"]),
            # Sanitised when the verslag was written; sanitised again here, as a second lock.
            report_html=(
                Markup(redactor.html(sanitise(found.html), keep))  # noqa: S704
                if found.html
                else None
            ),
        )

    async def feed(request: Request) -> Response:
        settings = services(request).settings
        async with services(request).db.read() as session:
            found, _ = await repo.public_page(
                session, PublicFilters(), limit=settings.public_feed_size, offset=0, count=False
            )
            authors = await repo.authors_of(session, [p.id for p in found])
            redactor = await people.redactor_for(session)
        xml = atom_feed(base_url(request, settings), found, authors, redactor)
        return cached(request, xml, "application/atom+xml; charset=utf-8", settings)

    return [
        Route("/openbaar", index, methods=["GET"]),
        Route("/openbaar/feed.xml", feed, methods=["GET"]),
        Route("/openbaar/{publication_id:int}", detail, methods=["GET"]),
    ]


def _query_string(asked: ListQuery, page: int) -> str:
    values = {"q": asked.q, "theme": asked.theme, "area": asked.area, "layer": asked.layer}
    kept = {k: v for k, v in values.items() if v}
    if page > 1:
        kept["page"] = str(page)
    return "?" + urlencode(kept) if kept else ""


def _stamp(moment: datetime | None) -> str:
    return (moment or datetime(2026, 1, 1, tzinfo=UTC)).astimezone(UTC).isoformat()


def atom_feed(
    base: str,
    publications: list[Publication],
    authors: dict[int, list[tuple[PublicationAuthor, User]]],
    redactor: Redactor,
) -> bytes:
    """The Atom document (RFC 4287) of these publications, newest first."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "nl"})
    sub(root, "id", f"{base}/openbaar")
    sub(root, "title", f"{SITE}: wat we leren, delen we")
    sub(root, "updated", _stamp(publications[0].published_at if publications else None))
    sub(root, "link", rel="self", href=f"{base}/openbaar/feed.xml")
    sub(root, "link", rel="alternate", type="text/html", href=f"{base}/openbaar")
    site = sub(root, "author")
    sub(site, "name", SITE)
    for p in publications:
        entry = sub(root, "entry")
        url = f"{base}/openbaar/{p.id}"
        keep = named(authors.get(p.id, []))
        sub(entry, "id", url)
        sub(entry, "title", redactor.text(p.title, keep), type="text")
        sub(entry, "updated", _stamp(p.published_at))
        sub(entry, "published", _stamp(p.published_at))
        sub(entry, "link", rel="alternate", type="text/html", href=url)
        for label in dict.fromkeys(author_labels(authors.get(p.id, [])).values()):
            sub(sub(entry, "author"), "name", label)
        for term in (p.theme, p.area):
            if term:
                sub(entry, "category", term=term)
        # The summary as the list shows it (not the whole text, which the page has).
        sub(entry, "summary", summary(redactor.text(p.body[:SUMMARY_READ], keep)), type="text")
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document

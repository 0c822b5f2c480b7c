"""GET /api/search: parse the parameters, run one search, return hits and the next cursor.

Parameters: `q` (the query language of persistence/search/query.py), `room` (slug),
`author` (username), `layer` (rijk, provincie, gemeente, waterschap, overig), `after` and
`before` (ISO-8601 dates or date-times; a date, or a time without zone, is Dutch time;
`after` is inclusive, `before` exclusive), `since_meeting` (a meeting slug, or a theme
slug for that theme's latest meeting so far), `mark` (vraag | besluit | actiepunt) with
`open=1` for unanswered questions and open action items, `theme` (messages tagged with
that theme), `sort` (relevance | recent), `limit` (1..100, default 20), `cursor` (the
`next_cursor` of the previous page), `file_cursor` (the `next_file_cursor` of a previous
answer: the next page of file hits alone).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from persistence import search
from persistence.events import iso
from persistence.models import utcnow
from persistence.rooms import ban_of, room_by_slug, room_ref
from persistence.search import glossary, reports
from persistence.search.files import FileCursorError, FileHit, search_files
from rooms.access import check_read
from rooms.conversations import clean_topic
from rooms.dutchtime import parse_dutch
from rooms.errors import BadRequest, NotFound
from rooms.model import SLUG_RE, USERNAME_RE
from web.deps import caller, services
from web.openapi import api
from web.responses import JSON, query_as
from web.wire import author_wire
from web.wire import rooms as wire


def parse_moment(name: str, raw: str) -> datetime:
    """An ISO-8601 date (its first moment in the Netherlands) or date-time, as aware UTC."""
    return parse_dutch(raw, name, default_time=time(0), what="query parameter")


def _query(raw: str) -> search.Query:
    try:
        return search.parse(raw)
    except search.QueryError as exc:
        raise BadRequest(f"q: {exc}") from None


def _moment(name: str, raw: str | None) -> datetime | None:
    return parse_moment(name, raw) if raw else None


async def search_messages(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    asked = query_as(request, wire.SearchQuery)
    q, topic = search.take_topic(asked.q)
    terms = _query(q)
    topic = clean_topic(asked.topic if asked.topic is not None else topic)
    after, before = _moment("after", asked.after), _moment("before", asked.before)
    author, theme, mark = asked.author, asked.theme, asked.mark
    if author is not None and not USERNAME_RE.fullmatch(author):
        raise BadRequest("query parameter 'author' must be a username")
    if theme is not None and not SLUG_RE.fullmatch(theme):
        raise BadRequest("query parameter 'theme' must be a theme slug")
    room_slug, meeting_slug = asked.room, asked.since_meeting
    now = utcnow()
    body: dict[str, Any] = {}
    async with svc.db.read() as session:
        room_id = None
        if room_slug is not None:
            room = await room_by_slug(session, room_slug) if SLUG_RE.fullmatch(room_slug) else None
            if room is None:
                raise NotFound(f"no room {room_slug!r}")
            check_read(who.actor, room_ref(room), await ban_of(session, room.id, who.user.id), now)
            room_id = room.id
        if meeting_slug is not None:
            try:
                meeting = await search.last_meeting(session, meeting_slug, now)
            except LookupError:
                raise BadRequest(f"since_meeting: no meeting or theme {meeting_slug!r}") from None
            body["since_meeting"] = meeting_ref_wire(meeting) if meeting is not None else None
            if meeting is not None and (after is None or meeting.starts_at > after):
                after = meeting.starts_at
        open_only = asked.open in ("1", "true") and mark is not None
        layer = asked.layer.value if asked.layer is not None else None
        filters = search.Filters(
            room_id, author, layer, after, before, mark, open_only, theme, topic
        )
        # The moderators' glossary widens the query: NPLG finds its long form and back.
        terms = glossary.expand(terms, await glossary.entries(session))
        request_ = search.SearchRequest(terms, filters, asked.sort, asked.limit, asked.cursor)
        try:
            page = await search.search(session, who.user.id, request_, now)
        except search.CursorError as exc:
            raise BadRequest(f"cursor: {exc}") from None
        hits = [hit_wire(h) for h in page.hits]
        if asked.file_cursor is not None:
            # The next page of file hits alone (docs/files.md).
            try:
                more = await search_files(
                    session, who.user.id, terms, filters, now, asked.limit, asked.file_cursor
                )
            except FileCursorError as exc:
                raise BadRequest(f"file_cursor: {exc}") from None
            files_only = [file_hit_wire(f) for f in more.hits]
            return JSON(
                {
                    "hits": files_only,
                    "next_cursor": None,
                    **body,
                    "next_file_cursor": more.next_cursor,
                }
            )
        if asked.cursor is None:
            # Reports before the messages, files after them: on the first page only.
            # A report has no author, layer, mark or theme tag: those filters leave it out.
            if not (author or layer or mark or theme):
                scope = reports.ReportFilters(room_id, after, before, asked.sort == "recent")
                found = await reports.search_reports(session, terms, scope)
                hits[:0] = [report_hit(h) for h in found]
            # Files (docs/files.md) pass the same filters as messages.
            found_files = await search_files(session, who.user.id, terms, filters, now, asked.limit)
            hits += [file_hit_wire(f) for f in found_files.hits]
            if found_files.next_cursor is not None:
                body["next_file_cursor"] = found_files.next_cursor
    return JSON({"hits": hits, "next_cursor": page.next_cursor, **body})


def meeting_ref_wire(meeting: search.MeetingRef) -> dict[str, Any]:
    return {"slug": meeting.slug, "title": meeting.title, "starts_at": iso(meeting.starts_at)}


def hit_wire(hit: search.Hit) -> dict[str, Any]:
    return {
        "kind": "message",
        "room": hit.room,
        "seq": hit.seq,
        "message_id": hit.message_id,
        "author": author_wire(hit.author),
        "created_at": iso(hit.created_at),
        "snippet": hit.snippet,
        "matched_via": list(hit.matched_via),
    }


def file_hit_wire(hit: FileHit) -> dict[str, Any]:
    return {
        "kind": "file",
        "room": hit.room,
        "message_id": hit.message_id,
        "file": {"id": hit.file_id, "name": hit.name},
        "snippet": hit.snippet,
    }


def report_hit(hit: reports.ReportHit) -> dict[str, Any]:
    """A published report found: on the first page only, before the messages."""
    return {
        "kind": "report",
        "meeting": hit.meeting,
        "title": hit.title,
        "published_at": iso(hit.published_at),
        "snippet": hit.snippet,
    }


def routes() -> list[BaseRoute]:
    # fmt: off
    return [
        api("/api/search", "GET", search_messages,
            "full-text search in the rooms the caller may read", "search",
            out=wire.SearchPage, query=wire.SearchQuery, errors=(403, 404)),
    ]
    # fmt: on

"""GET /api/search: parse the parameters, run one search, return hits and the next cursor.

Parameters: `q` (the query language of persistence/search/query.py), `room` (slug),
`author` (username), `layer` (rijk, provincie, gemeente, waterschap, overig), `after` and
`before` (ISO-8601 dates or date-times; a date, or a time without zone, is Dutch time;
`after` is inclusive, `before` exclusive), `since_meeting` (a meeting slug, or a theme
slug for that theme's latest meeting so far), `mark` (vraag | besluit | actiepunt) with
`open=1` for unanswered questions and open action items, `theme` (messages tagged with
that theme), `sort` (relevance | recent), `limit` (1..100, default 20), `cursor` (the
`next_cursor` of the previous page).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from persistence import search
from persistence.models import utcnow
from persistence.rooms import ban_of, room_by_slug, room_ref
from rooms.access import check_read
from rooms.errors import BadRequest, NotFound
from rooms.marks import MarkKind
from rooms.model import SLUG_RE, USERNAME_RE, Layer
from rooms.moments import MomentError, in_range
from web.deps import caller, services
from web.responses import JSON, int_param

try:
    DUTCH_TIME: Any = ZoneInfo("Europe/Amsterdam")
except ZoneInfoNotFoundError:  # no tz database on this host: dates fall back to UTC
    DUTCH_TIME = UTC


def parse_moment(name: str, raw: str) -> datetime:
    """An ISO-8601 date (its first moment) or date-time as an aware UTC datetime."""
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time(0))
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"query parameter {name!r} must be an ISO-8601 date such as 2026-03-01"
            " or a date-time such as 2026-03-01T09:30:00Z"
        ) from None
    try:
        return in_range(moment, DUTCH_TIME)
    except MomentError as exc:
        raise BadRequest(f"query parameter {name!r} {exc}") from None


def _choice(request: Request, name: str, allowed: list[str], default: str | None) -> str | None:
    raw = request.query_params.get(name) or default
    if raw is not None and raw not in allowed:
        raise BadRequest(f"query parameter {name!r} must be one of {', '.join(allowed)}")
    return raw


def _query(request: Request) -> search.Query:
    raw = request.query_params.get("q", "")
    try:
        return search.parse(raw)
    except search.QueryError as exc:
        raise BadRequest(f"q: {exc}") from None


def _moment(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    return parse_moment(name, raw) if raw else None


async def search_messages(request: Request) -> Response:
    svc = services(request)
    who = await caller(request)
    query = _query(request)
    sort = search.Sort(
        _choice(request, "sort", [s.value for s in search.Sort], None) or "relevance"
    )
    layer = _choice(request, "layer", [layer.value for layer in Layer], None)
    limit = int_param(request, "limit", search.DEFAULT_LIMIT, 1, search.MAX_LIMIT)
    after, before = _moment(request, "after"), _moment(request, "before")
    author = request.query_params.get("author") or None
    if author is not None and not USERNAME_RE.fullmatch(author):
        raise BadRequest("query parameter 'author' must be a username")
    mark = _choice(request, "mark", [kind.value for kind in MarkKind], None)
    open_only = _choice(request, "open", ["1", "true", "0", "false"], None) in ("1", "true")
    theme = request.query_params.get("theme") or None
    if theme is not None and not SLUG_RE.fullmatch(theme):
        raise BadRequest("query parameter 'theme' must be a theme slug")
    room_slug = request.query_params.get("room") or None
    meeting_slug = request.query_params.get("since_meeting") or None
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
            body["since_meeting"] = meeting.wire() if meeting is not None else None
            if meeting is not None and (after is None or meeting.starts_at > after):
                after = meeting.starts_at
        filters = search.Filters(
            room_id, author, layer, after, before, mark, open_only and mark is not None, theme
        )
        request_ = search.SearchRequest(
            query,
            filters,
            sort,
            limit or search.DEFAULT_LIMIT,
            request.query_params.get("cursor") or None,
        )
        try:
            page = await search.search(session, who.user.id, request_, now)
        except search.CursorError as exc:
            raise BadRequest(f"cursor: {exc}") from None
    return JSON({"hits": [h.wire() for h in page.hits], "next_cursor": page.next_cursor, **body})


def routes() -> list[BaseRoute]:
    return [Route("/api/search", search_messages)]

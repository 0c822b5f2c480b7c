"""The HTTP API as an OpenAPI 3.1 document, written by hand as data (served at /openapi.json).

Every operation lists the statuses it can answer with and the contract's error body for each
refusal, so that a fuzzer (tests/security/test_openapi_fuzz.py) can hold the server to it.
`document(served)` leaves out operations whose route has not been mounted, so the document
never promises an endpoint this process does not have; `DOCUMENTED` is the whole list, which
a test compares with the app's routes so that a new endpoint cannot go undocumented.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.responses import JSON

Schema = dict[str, Any]

SLUG_PATTERN = "^[a-z0-9-]{1,64}$"
USERNAME_PATTERN = "^[a-z0-9._-]{2,32}$"
MAX_ID = 2**62
ERROR_CODES = (
    "bad_request",
    "bad_credentials",
    "unauthenticated",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "too_large",
    "rate_limited",
    "muted",
    "room_locked",
    "internal",
)

# Small schema helpers.

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with these required and optional properties (more are allowed: additions)."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
    }


def body_obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """A request body: exactly these fields (the server refuses unknown ones)."""
    return {**obj(required, optional), "additionalProperties": False}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def text(max_length: int, min_length: int = 0) -> Schema:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


# Components.

USER = obj({"username": STR, "display_name": STR, "organisation": STR, "layer": STR, "role": STR})
AUTHOR = obj({"username": STR, "display_name": STR, "organisation": STR, "layer": STR})
ROOM = obj(
    {
        "slug": STR,
        "name": STR,
        "kind": STR,
        "topic": nullable(STR),
        "last_seq": INT,
        "read_seq": INT,
        "unread": INT,
    },
    {"locked": BOOL, "archived": BOOL},
)
ROOM_SETTINGS = obj(
    {"slug": STR, "name": STR, "kind": STR, "topic": nullable(STR), "last_seq": INT},
    {"locked": BOOL, "archived": BOOL, "slow_mode_seconds": INT},
)
EVENT = obj({"type": STR, "room": STR, "seq": INT})
RESTRICTION = obj(
    {"room": STR, "username": STR, "until": nullable(STR), "reason": STR},
    {"by": nullable(STR), "at": nullable(STR)},
)
REPORT = obj(
    {
        "id": INT,
        "room": STR,
        "message_id": INT,
        "reporter": STR,
        "reason": STR,
        "at": STR,
        "status": {"enum": ["open", "resolved", "dismissed"]},
    }
)
AUDIT_ENTRY = obj(
    {
        "at": STR,
        "actor": nullable(STR),
        "action": STR,
        "room": nullable(STR),
        "target": nullable(STR),
        "reason": nullable(STR),
    }
)
SEARCH_HIT = obj(
    {
        "room": STR,
        "seq": INT,
        "message_id": INT,
        "author": AUTHOR,
        "created_at": STR,
        "snippet": STR,
    }
)
ERROR = obj({"error": obj({"code": {"enum": list(ERROR_CODES)}, "message": STR})})

SCHEMAS: dict[str, Schema] = {
    "User": USER,
    "Author": AUTHOR,
    "Room": ROOM,
    "RoomSettings": ROOM_SETTINGS,
    "Event": EVENT,
    "Restriction": RESTRICTION,
    "Report": REPORT,
    "AuditEntry": AUDIT_ENTRY,
    "SearchHit": SEARCH_HIT,
    "Error": ERROR,
}


def error_response(description: str, retry_after: bool = False) -> Schema:
    response: Schema = {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {
                "description": "seconds to wait",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        }
    return response


RESPONSES: dict[str, Schema] = {
    "400": error_response("`bad_request`: a malformed body, field or query parameter"),
    "401": error_response("`unauthenticated`: no valid session (cookie or Bearer)"),
    "403": error_response(
        "`forbidden`: the caller may not do this here, or a cookie-authenticated change "
        "from an Origin that is not allowed"
    ),
    "404": error_response("`not_found`: no such room, message, user or report"),
    "409": error_response("`conflict`: the change was already made"),
    "429": error_response("`rate_limited`: too many attempts", retry_after=True),
}


# Operations.


def param(name: str, where: str, schema: Schema, description: str = "") -> Schema:
    p: Schema = {"name": name, "in": where, "schema": schema, "required": where == "path"}
    if description:
        p["description"] = description
    return p


SLUG = param("slug", "path", {"type": "string", "pattern": SLUG_PATTERN}, "room slug")
MESSAGE_ID = param("message_id", "path", {"type": "integer", "minimum": 1, "maximum": MAX_ID})
USERNAME = param("username", "path", {"type": "string", "pattern": USERNAME_PATTERN})
REPORT_ID = param("report_id", "path", {"type": "integer", "minimum": 1, "maximum": MAX_ID})


def limit(hi: int) -> Schema:
    return param("limit", "query", {"type": "integer", "minimum": 1, "maximum": hi})


def op(
    summary: str,
    tag: str,
    ok: tuple[int, Schema | None],
    errors: Iterable[int] = (),
    *,
    params: Iterable[Schema] = (),
    body: Schema | None = None,
    auth: bool = True,
) -> Schema:
    """One operation: its success answer and the error statuses it may give."""
    status, schema = ok
    success: Schema = {"description": summary}
    if schema is not None:
        success["content"] = {"application/json": {"schema": schema}}
    codes = set(errors)
    if auth:
        codes.add(401)
    if body is not None:
        codes.add(400)
    responses: dict[str, Schema] = {str(status): success}
    for code in sorted(codes):
        responses[str(code)] = {"$ref": f"#/components/responses/{code}"}
    operation: Schema = {"summary": summary, "tags": [tag], "responses": responses}
    parameters = list(params)
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if not auth:
        operation["security"] = []
    return operation


# Between meetings (docs/meetings.md): catch-up, marks, agenda, overview, preferences.
MARKED = obj({"event": EVENT})
MEETING = obj(
    {"slug": STR, "title": STR, "theme": nullable(STR), "date": STR, "place": STR, "room": STR},
    {"programme": STR, "theme_room": nullable(STR)},
)
PREFERENCES = obj(
    {"user": ref("User"), "preferences": obj({"digest": BOOL, "email": nullable(STR)})}
)
MEETING_SLUG = param("slug", "path", {"type": "string", "pattern": SLUG_PATTERN}, "meeting slug")


def _agenda_operation() -> Schema:
    """JSON, or Markdown with `format=md` (moderators only)."""
    operation = op(
        "the meeting's draft agenda: open questions, action items, decisions",
        "meetings",
        (
            200,
            obj(
                {
                    "meeting": MEETING,
                    "open_questions": array(obj({})),
                    "action_items": array(obj({})),
                    "decisions": array(obj({})),
                }
            ),
        ),
        (400, 403, 404),
        params=[MEETING_SLUG, param("format", "query", {"enum": ["json", "md"]})],
    )
    operation["responses"]["200"]["content"]["text/markdown"] = {"schema": STR}
    return operation


BETWEEN_OPERATIONS: list[tuple[str, str, Schema]] = [
    (
        "/api/catchup",
        "get",
        op(
            "what is new per readable room since the last meeting or the last visit",
            "between meetings",
            (200, obj({"since": STR, "rooms": array(obj({})), "read_up_to": obj({})})),
            (400,),
            params=[param("since", "query", {"enum": ["last_meeting", "last_visit"]})],
        ),
    ),
    (
        "/api/catchup/read",
        "post",
        op(
            "mark all read up to here: read markers per room",
            "between meetings",
            (200, obj({"rooms": obj({})})),
            (403, 404),
            body=body_obj(
                {
                    "rooms": {
                        "type": "object",
                        "additionalProperties": {"type": "integer", "minimum": 0},
                    }
                }
            ),
        ),
    ),
    *(
        (
            f"/api/rooms/{{slug}}/messages/{{message_id}}/{what}",
            "post",
            op(
                summary,
                "between meetings",
                (200, MARKED),
                (403, 404, 409),
                params=[SLUG, MESSAGE_ID],
                body=body,
            ),
        )
        for what, summary, body in (
            (
                "mark",
                "mark a message as vraag, besluit or actiepunt (a room event)",
                body_obj(
                    {"kind": {"enum": ["vraag", "besluit", "actiepunt"]}},
                    {
                        "owner": nullable(text(32)),
                        "due": nullable({"type": "string", "format": "date"}),
                    },
                ),
            ),
            ("answered", "mark a question answered by a reply", body_obj({"reply_id": INT})),
            ("tags", "tag a message with themes", body_obj({"themes": array(text(64))})),
        )
    ),
    (
        "/api/rooms/{slug}/messages/{message_id}/mark",
        "delete",
        op(
            "remove a message's mark",
            "between meetings",
            (200, MARKED),
            (403, 404),
            params=[SLUG, MESSAGE_ID],
        ),
    ),
    (
        "/api/meetings/{slug}",
        "get",
        op(
            "a meeting with its links and the meeting before it",
            "meetings",
            (200, obj({"meeting": MEETING, "previous_meeting": nullable(MEETING)})),
            (404,),
            params=[MEETING_SLUG],
        ),
    ),
    ("/api/meetings/{slug}/agenda", "get", _agenda_operation()),
    (
        "/api/overview",
        "get",
        op(
            "areas × themes: activity and unread per cell; layers per question",
            "between meetings",
            (
                200,
                obj(
                    {"themes": array(obj({})), "areas": array(obj({})), "questions": array(obj({}))}
                ),
            ),
        ),
    ),
    (
        "/api/me",
        "patch",
        op(
            "the caller's digest preference and e-mail address",
            "session",
            (200, PREFERENCES),
            body=body_obj({}, {"digest": BOOL, "email": nullable(text(254))}),
        ),
    ),
    ("/api/me/preferences", "get", op("the caller's preferences", "session", (200, PREFERENCES))),
    (
        "/api/digest/unsubscribe",
        "post",
        op(
            "one-click unsubscribe from the digest (RFC 8058): by the e-mail's signed token",
            "session",
            (200, obj({"digest": BOOL})),
            (400, 403),
            params=[
                {
                    **param("token", "query", text(64, 1), "of the List-Unsubscribe link"),
                    "required": True,
                },
            ],
            auth=False,
        ),
    ),
]

REASON = text(1000, 1)
ROOM_ERRORS = (403, 404)
MOD_ERRORS = (400, 403, 404)

OPERATIONS: dict[tuple[str, str], Schema] = {
    ("/healthz", "get"): op(
        "the process serves", "health", (200, obj({"status": STR})), auth=False
    ),
    ("/readyz", "get"): {
        **op(
            "database and broker answer",
            "health",
            (200, obj({"status": STR, "database": BOOL, "broker": BOOL})),
            auth=False,
        ),
        "responses": {
            "200": {
                "description": "ready",
                "content": {"application/json": {"schema": obj({"status": STR})}},
            },
            "503": {
                "description": "the database or the broker does not answer",
                "content": {"application/json": {"schema": obj({"status": STR})}},
            },
        },
    },
    ("/api/session", "post"): op(
        "log in; sets the session cookie",
        "session",
        (200, obj({"token": STR, "user": ref("User")})),
        (401, 403, 429),
        body=body_obj({"username": text(256), "password": text(1024)}),
        auth=False,
    ),
    ("/api/session", "delete"): op(
        "log out: the token and cookie stop working, open sockets close (1008)",
        "session",
        (204, None),
        (403,),
    ),
    ("/api/me", "get"): op("who am I", "session", (200, obj({"user": ref("User")}))),
    ("/api/rooms", "get"): op(
        "the rooms the caller may read", "rooms", (200, obj({"rooms": array(ref("Room"))}))
    ),
    ("/api/rooms/{slug}/events", "get"): op(
        "room events after `after` (ascending) or before `before`",
        "rooms",
        (200, obj({"events": array(ref("Event")), "last_seq": INT, "has_more": BOOL})),
        (400, *ROOM_ERRORS),
        params=[
            SLUG,
            param("after", "query", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
            param("before", "query", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
            limit(1000),
        ],
    ),
    ("/api/search", "get"): op(
        "full-text search in the rooms the caller may read",
        "search",
        (200, obj({"hits": array(ref("SearchHit")), "next_cursor": nullable(STR)})),
        (400, 403, 404),
        params=[
            param("q", "query", text(500), "search terms"),
            param("room", "query", STR),
            param("author", "query", STR, "a username"),
            param("after", "query", {"type": "string", "format": "date"}),
            param("before", "query", {"type": "string", "format": "date"}),
            limit(100),
            param("cursor", "query", STR),
        ],
    ),
    # Moderation.
    ("/api/rooms/{slug}", "patch"): op(
        "change topic, lock, archive, slow mode",
        "moderation",
        (200, obj({"room": ref("RoomSettings")})),
        MOD_ERRORS,
        params=[SLUG],
        body=body_obj(
            {},
            {
                "topic": text(1000),
                "locked": BOOL,
                "archived": BOOL,
                "slow_mode_seconds": {"type": "integer", "minimum": 0, "maximum": 3600},
                "reason": text(1000),
            },
        ),
    ),
    ("/api/rooms/{slug}/messages/{message_id}/hide", "post"): op(
        "hide a message (subscribers get `message_hidden`)",
        "moderation",
        (200, obj({"message_id": INT, "hidden": BOOL, "seq": INT})),
        (*MOD_ERRORS, 409),
        params=[SLUG, MESSAGE_ID],
        body=body_obj({"reason": REASON}),
    ),
    ("/api/rooms/{slug}/messages/{message_id}/report", "post"): op(
        "report a message to the moderators",
        "moderation",
        (201, obj({"report": ref("Report")})),
        (*MOD_ERRORS, 409),
        params=[SLUG, MESSAGE_ID],
        body=body_obj({"reason": REASON}),
    ),
    ("/api/rooms/{slug}/bans", "post"): op(
        "ban a user from the room (their sockets get `removed`)",
        "moderation",
        (201, obj({"ban": ref("Restriction")})),
        MOD_ERRORS,
        params=[SLUG],
        body=body_obj({"username": text(64), "reason": REASON}, {"until": nullable(text(64))}),
    ),
    ("/api/rooms/{slug}/bans", "get"): op(
        "bans in force",
        "moderation",
        (200, obj({"bans": array(ref("Restriction"))})),
        ROOM_ERRORS,
        params=[SLUG],
    ),
    ("/api/rooms/{slug}/bans/{username}", "delete"): op(
        "lift a ban", "moderation", (204, None), ROOM_ERRORS, params=[SLUG, USERNAME]
    ),
    ("/api/rooms/{slug}/mutes", "post"): op(
        "mute a user in the room (`send` answers `muted`)",
        "moderation",
        (201, obj({"mute": ref("Restriction")})),
        MOD_ERRORS,
        params=[SLUG],
        body=body_obj(
            {
                "username": text(64),
                "minutes": {"type": "integer", "minimum": 1, "maximum": 525600},
                "reason": REASON,
            }
        ),
    ),
    ("/api/rooms/{slug}/mutes", "get"): op(
        "mutes in force",
        "moderation",
        (200, obj({"mutes": array(ref("Restriction"))})),
        ROOM_ERRORS,
        params=[SLUG],
    ),
    ("/api/rooms/{slug}/mutes/{username}", "delete"): op(
        "lift a mute", "moderation", (204, None), ROOM_ERRORS, params=[SLUG, USERNAME]
    ),
    ("/api/rooms/{slug}/moderators", "post"): op(
        "make a user moderator of the room (admins only)",
        "moderation",
        (201, obj({"moderator": obj({"room": STR, "username": STR})})),
        (*MOD_ERRORS, 409),
        params=[SLUG],
        body=body_obj({"username": text(64)}, {"reason": text(1000)}),
    ),
    ("/api/rooms/{slug}/moderators", "get"): op(
        "the room's own moderators",
        "moderation",
        (200, obj({"moderators": array(STR)})),
        ROOM_ERRORS,
        params=[SLUG],
    ),
    ("/api/rooms/{slug}/moderators/{username}", "delete"): op(
        "end a room moderator's role (admins only)",
        "moderation",
        (204, None),
        ROOM_ERRORS,
        params=[SLUG, USERNAME],
    ),
    ("/api/rooms/{slug}/members", "post"): op(
        "add a user to an area's team",
        "moderation",
        (201, obj({"member": obj({"room": STR, "username": STR})})),
        (*MOD_ERRORS, 409),
        params=[SLUG],
        body=body_obj({"username": text(64)}, {"reason": text(1000)}),
    ),
    ("/api/rooms/{slug}/members", "get"): op(
        "an area's team",
        "moderation",
        (200, obj({"members": array(ref("Author"))})),
        ROOM_ERRORS,
        params=[SLUG],
    ),
    ("/api/rooms/{slug}/members/{username}", "delete"): op(
        "remove a user from an area's team (their sockets get `removed`)",
        "moderation",
        (204, None),
        MOD_ERRORS,
        params=[SLUG, USERNAME],
    ),
    ("/api/rooms/{slug}/pins", "get"): op(
        "pinned messages",
        "moderation",
        (200, obj({"pins": array(obj({"message_id": INT, "seq": INT}))})),
        ROOM_ERRORS,
        params=[SLUG],
    ),
    ("/api/rooms/{slug}/pins/{message_id}", "post"): op(
        "pin a message",
        "moderation",
        (201, obj({"pin": obj({"room": STR, "message_id": INT, "seq": INT})})),
        (*MOD_ERRORS, 409),
        params=[SLUG, MESSAGE_ID],
    ),
    ("/api/rooms/{slug}/pins/{message_id}", "delete"): op(
        "unpin a message", "moderation", (204, None), ROOM_ERRORS, params=[SLUG, MESSAGE_ID]
    ),
    ("/api/reports", "get"): op(
        "reports of the rooms the caller moderates",
        "moderation",
        (200, obj({"reports": array(ref("Report"))})),
        MOD_ERRORS,
        params=[
            param("room", "query", STR),
            param("status", "query", {"enum": ["open", "resolved", "dismissed"]}),
            limit(1000),
        ],
    ),
    ("/api/reports/{report_id}", "patch"): op(
        "resolve or dismiss a report",
        "moderation",
        (200, obj({"report": ref("Report")})),
        (*MOD_ERRORS, 409),
        params=[REPORT_ID],
        body=body_obj(
            {"status": {"enum": ["open", "resolved", "dismissed"]}}, {"reason": text(1000)}
        ),
    ),
    ("/api/audit", "get"): op(
        "the audit log of the rooms the caller moderates",
        "moderation",
        (200, obj({"entries": array(ref("AuditEntry"))})),
        MOD_ERRORS,
        params=[
            param("room", "query", STR),
            param("before", "query", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
            limit(1000),
        ],
    ),
    # Meetings.
    ("/api/meetings", "get"): op(
        "the Werkplaats meetings", "meetings", (200, obj({"meetings": array(obj({}))}))
    ),
    ("/api/meetings", "post"): op(
        "create a meeting and its room (admins only)",
        "meetings",
        (201, obj({"meeting": obj({}), "room": ref("RoomSettings")})),
        (403, 409),
        body=body_obj(
            {
                "slug": {"type": "string", "pattern": SLUG_PATTERN},
                "title": text(200, 1),
                "theme": text(64),
                "date": {"type": "string", "format": "date-time", "maxLength": 64},
                "place": text(200, 1),
            },
            {"programme": text(20_000), "reason": text(1000)},
        ),
    ),
    # Between meetings (docs/meetings.md).
    **{(path, method): operation for path, method, operation in BETWEEN_OPERATIONS},
}

DOCUMENTED = frozenset(OPERATIONS)

DESCRIPTION = """\
The HTTP API of De Werkplaats (see docs/protocol.md). Errors are
`{"error": {"code", "message"}}`. Authentication: the `werkplaats_session` cookie or
`Authorization: Bearer <token>`; a cookie-authenticated state change must come from an
allowed Origin. The real-time part is a WebSocket at `/ws` (not described here)."""


def route_key(path: str, method: str) -> tuple[str, str]:
    """A Starlette route path (`{id:int}`) as the document writes it (`{id}`)."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path), method.lower()


def document(served: Iterable[tuple[str, str]] | None = None) -> Schema:
    """The OpenAPI document; with `served`, only the operations among those routes."""
    keep = DOCUMENTED if served is None else DOCUMENTED & {route_key(p, m) for p, m in served}
    paths: dict[str, dict[str, Schema]] = {}
    for (path, method), operation in OPERATIONS.items():
        if (path, method) in keep:
            paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "De Werkplaats", "version": "1", "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "werkplaats_session"},
            },
        },
        "security": [{"bearer": []}, {"cookie": []}],
    }


def served_routes(routes: Iterable[Any]) -> list[tuple[str, str]]:
    """(path, method) of every plain HTTP route of the app."""
    return [
        (r.path, m)
        for r in routes
        if isinstance(r, Route)
        for m in (r.methods or ())
        if m != "HEAD"
    ]


async def openapi_json(request: Request) -> Response:
    """GET /openapi.json: the document, limited to the routes this app serves."""
    return JSON(document(served_routes(request.app.routes)))

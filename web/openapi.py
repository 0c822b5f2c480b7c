"""`/openapi.json`, generated from the app's routes and the Structs of `web.wire`.

Each API route is an `ApiRoute`, made with `api(...)` in its module's `routes()`: it names its
body, query and response types and the error statuses it may answer with, next to its path.
The document walks the app's routes, so it never promises an endpoint this process does not
have, and a fuzzer (tests/security/test_openapi_fuzz.py) holds the server to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from web.responses import JSON
from web.wire import MAX_ID, SLUG_PATTERN, USERNAME_PATTERN, Error

Schema = dict[str, Any]
REF = "#/components/schemas/{name}"

DESCRIPTION = """\
The HTTP API of De Werkplaats (see docs/protocol.md), generated from the server's routes.
Errors are `{"error": {"code", "message"}}`. Authentication: the `werkplaats_session` cookie
or `Authorization: Bearer <token>`; a cookie-authenticated state change must come from an
allowed Origin. The real-time part is a WebSocket at `/ws` (not described here)."""

# What each refusal means; an operation lists the ones it may answer with.
REFUSALS = {
    400: "`bad_request`: a malformed body, field or query parameter; `weak_password`: a new "
    "password shorter than 12 characters or among the most common ones",
    401: "`unauthenticated`: no valid session (cookie or Bearer)",
    403: "`forbidden`: the caller may not do this here, or a cookie-authenticated change "
    "from an Origin that is not allowed",
    404: "`not_found`: no such room, message, user or report",
    409: "`conflict`: the change was already made, or the name is taken",
    410: "`gone`: a one-time link that was used or has expired",
    413: "`too_large`: the body (a file) is over its limit, or over the caller's quota",
    415: "`unsupported_type`: a file of a type that is not accepted",
    422: "`infected`: the virus scanner found something in the file",
    429: "`rate_limited`: too many attempts",
    503: "`unavailable`: a component the request needs is down; try again after Retry-After",
}
ID_SCHEMA: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
PATH_PARAMS: dict[str, Schema] = {
    "slug": {"type": "string", "pattern": SLUG_PATTERN},
    "username": {"type": "string", "pattern": USERNAME_PATTERN},
    "message_id": ID_SCHEMA,
    "report_id": ID_SCHEMA,
    "secret": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
    "publication_id": ID_SCHEMA,
    "file_id": ID_SCHEMA,
    "token": {"type": "string", "minLength": 16, "maxLength": 128, "pattern": "^[A-Za-z0-9_-]+$"},
    "poll_id": ID_SCHEMA,
    "entry_id": ID_SCHEMA,
}


@dataclass(frozen=True)
class Doc:
    """What an operation takes and answers: types from `web.wire`, statuses, a summary."""

    summary: str
    tag: str
    out: type | None = None
    status: int = 200
    body: type | None = None
    query: type | None = None
    errors: tuple[int, ...] = ()
    auth: bool = True
    # Other answers than JSON: media type to schema (the agenda's Markdown export).
    also: tuple[tuple[str, Schema], ...] = ()
    # A 503 that answers with this type rather than the error body.
    unready: type | None = None


class ApiRoute(Route):
    """A route of one method with its `Doc`."""

    def __init__(self, path: str, endpoint: Any, method: str, doc: Doc) -> None:
        super().__init__(path, endpoint, methods=[method])
        self.method = method.lower()
        self.doc = doc


def api(path: str, method: str, endpoint: Any, summary: str, tag: str, **doc: Any) -> ApiRoute:
    """A documented route: `Doc(summary, tag, **doc)` for `method path`."""
    return ApiRoute(path, endpoint, method, Doc(summary, tag, **doc))


def route_key(path: str, method: str) -> tuple[str, str]:
    """A Starlette route path (`{id:int}`) as the document writes it (`{id}`)."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path), method.lower()


def served_routes(routes: Iterable[Any]) -> list[tuple[str, str]]:
    """(path, method) of every plain HTTP route of the app."""
    return [
        (r.path, m)
        for r in routes
        if isinstance(r, Route)
        for m in (r.methods or ())
        if m != "HEAD"
    ]


def api_routes(routes: Iterable[BaseRoute]) -> list[ApiRoute]:
    return [r for r in routes if isinstance(r, ApiRoute)]


def documented(routes: Iterable[BaseRoute]) -> frozenset[tuple[str, str]]:
    """The (path, method) operations that the document of these routes describes."""
    return frozenset(route_key(r.path, r.method) for r in api_routes(routes))


def _json(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def _parameters(path: str, query: Schema | None) -> list[Schema]:
    names = re.findall(r"\{(\w+)(?::\w+)?\}", path)
    found = [{"name": n, "in": "path", "required": True, "schema": PATH_PARAMS[n]} for n in names]
    if query is not None:
        required = set(query.get("required", ()))
        for name, schema in query["properties"].items():
            # An absent parameter is the Struct's None: a query string has no null.
            options = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
            schema = options[0] if len(options) == 1 else schema
            found.append(
                {"name": name, "in": "query", "required": name in required, "schema": schema}
            )
    return found


def _ref(model: type | None) -> Schema | None:
    return None if model is None else {"$ref": REF.format(name=model.__name__)}


def _operation(route: ApiRoute, queries: dict[type, Schema]) -> Schema:
    doc = route.doc
    success: Schema = {"description": doc.summary}
    content = {media: {"schema": s} for media, s in doc.also}
    if (out := _ref(doc.out)) is not None:
        content = {**_json(out), **content}
    if content:
        success["content"] = content
    codes = set(doc.errors) | ({401} if doc.auth else set())
    codes |= {400} if doc.body or doc.query else set()
    responses: Schema = {str(doc.status): success}
    responses |= {str(c): {"$ref": f"#/components/responses/{c}"} for c in sorted(codes)}
    if doc.unready is not None:
        responses["503"] = {"description": "not ready", "content": _json(_ref(doc.unready) or {})}
    operation: Schema = {"summary": doc.summary, "tags": [doc.tag], "responses": responses}
    parameters = _parameters(route.path, queries.get(doc.query) if doc.query else None)
    if parameters:
        operation["parameters"] = parameters
    if (body := _ref(doc.body)) is not None:
        operation["requestBody"] = {"required": True, "content": _json(body)}
    if not doc.auth:
        operation["security"] = []
    return operation


def _refusal(status: int, description: str) -> Schema:
    response: Schema = {"description": description, "content": _json(_ref(Error) or {})}
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {
                "description": "seconds to wait",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        }
    return response


def document(routes: Iterable[BaseRoute]) -> Schema:
    """The OpenAPI 3.1 document of the API routes among `routes`."""
    mine = api_routes(routes)
    models = {m for r in mine for m in (r.doc.out, r.doc.body, r.doc.query, r.doc.unready) if m}
    queries = {r.doc.query for r in mine if r.doc.query is not None}
    ordered = sorted(models | {Error}, key=lambda m: m.__name__)
    _, components = msgspec.json.schema_components(ordered, ref_template=REF)
    # Query Structs become parameters, not components.
    query_schemas = {q: components.pop(q.__name__) for q in queries}
    paths: dict[str, dict[str, Schema]] = {}
    for route in mine:
        path, method = route_key(route.path, route.method)
        paths.setdefault(path, {})[method] = _operation(route, query_schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "De Werkplaats", "version": "1", "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {str(c): _refusal(c, d) for c, d in REFUSALS.items()},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "werkplaats_session"},
            },
        },
        "security": [{"bearer": []}, {"cookie": []}],
    }


async def openapi_json(request: Request) -> Response:
    """GET /openapi.json: the document of the routes this app serves (made once)."""
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = document(request.app.routes)
    return JSON(state.openapi)

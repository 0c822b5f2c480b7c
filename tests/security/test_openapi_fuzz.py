"""Schemathesis against a real server: no 500, every answer as /openapi.json documents it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.helpers import ServerProcess, token_for
from web.app import routes
from web.openapi import document, documented, route_key, served_routes

# Routes that are no JSON API operation: the web client, the documents, the metrics, and
# the single sign-on's browser redirects and pages.
# Examples per operation: bounded so the whole run stays well under 40 s.
EXAMPLES = {"ada": 8, "ann": 5}
# A schema-valid request may still be refused with 400 for what a schema cannot say (an unknown
# theme, a reason that is blank once trimmed, a ban that ends in the past): not a failure.
EXCLUDED_CHECKS: list[schemathesis.CheckFunction] = [positive_data_acceptance]
UNDOCUMENTED = {
    ("/", "get"),
    # The client's own paths (/kamer/<slug>, …): its page, not an API (web/clientpaths.py).
    ("/{page}", "get"),
    ("/openapi.json", "get"),
    ("/ws-schema.json", "get"),
    ("/metrics", "get"),
    # The public pages are HTML for outsiders, not the JSON API (docs/public-pages.md).
    ("/openbaar", "get"),
    ("/openbaar/{publication_id}", "get"),
    ("/openbaar/feed.xml", "get"),
    ("/auth/oidc/{provider}/login", "get"),
    ("/auth/oidc/{provider}/callback", "get"),
    ("/sw.js", "get"),
    ("/manifest.webmanifest", "get"),
}
DOCUMENTED = documented(routes())


def test_every_route_is_documented() -> None:
    """Every HTTP route of the app has an operation in the OpenAPI document."""
    served = {route_key(p, m) for p, m in served_routes(routes())}
    assert served - UNDOCUMENTED <= DOCUMENTED, sorted(served - UNDOCUMENTED - DOCUMENTED)


def test_document_is_valid_openapi() -> None:
    """The document of every route loads as OpenAPI 3.1."""
    schema = schemathesis.openapi.from_dict(document(routes()))
    assert len(list(schema.get_all_operations())) == len(DOCUMENTED)


def test_openapi_json_is_served(served: ServerProcess) -> None:
    """GET /openapi.json answers the document of the routes this server has."""
    r = httpx.get(f"{served.url}/openapi.json", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["openapi"] == "3.1.0"
    assert "/api/rooms/{slug}/events" in r.json()["paths"]


@pytest.fixture(scope="module")
def api_schema(served: ServerProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{served.url}/openapi.json", timeout=10)


_tokens: dict[str, str] = {}


def _token(base: str, username: str) -> str:
    key = f"{base} {username}"
    if key not in _tokens:
        _tokens[key] = token_for(base, username)
    return _tokens[key]


@pytest.mark.slow
@pytest.mark.parametrize("username", ["ada", "ann"])
@pytest.mark.parametrize(
    ("path", "method"), [pytest.param(p, m, id=f"{m.upper()} {p}") for p, m in sorted(DOCUMENTED)]
)
def test_api_answers_as_documented(
    path: str,
    method: str,
    username: str,
    served: ServerProcess,
    api_schema: schemathesis.BaseSchema,
) -> None:
    """No 500; status, content type, headers and body as documented (an admin, a member)."""
    try:
        operation = api_schema[path][method]
    except (KeyError, schemathesis.errors.OperationNotFound):
        pytest.skip(f"{method.upper()} {path} is not served yet")
    # Logging out ends the token: that operation gets a token per case.
    own = path == "/api/session" and method == "delete"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES[username],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case[Any]) -> None:
        token = token_for(served.url, username) if own else _token(served.url, username)
        case.call_and_validate(
            base_url=served.url,
            headers={"Authorization": f"Bearer {token}"},
            excluded_checks=EXCLUDED_CHECKS,
            timeout=10,
        )

    check()

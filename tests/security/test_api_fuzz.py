"""Every query parameter and body field of /openapi.json, drawn hostile: never a 5xx.

Hypothesis draws an operation of the API description, then a value for each of its path
and query parameters and body fields: one its schema allows, or a hostile one (numbers
beyond 64 bits, 1e300, NaN, dates at the ends of the calendar, control and bidi characters,
empty strings, wrong types, nested objects), and now and then a body that is no JSON object
at all. The answer must never be a 5xx, and every 4xx must carry the contract's error body.
It runs as an admin and as a global moderator on both databases; the examples are few
enough (`EXAMPLES`) that each run takes well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import login

# Examples per operation and caller: about 45 operations, twice, in ~30 s per database.
EXAMPLES = 25
SLUGS = ["area-a", "area-b", "theme-one", "theme-two", "meeting-one"]
USERNAMES = ["ann", "amy", "bob", "rita", "mo", "ada"]
# Logging out would end the token every later example uses.
SKIPPED = {("/api/session", "delete")}

HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "\u202eLN12BANK0001\u202c",
    "😀" * 50,
    "a" * 5000,
    "1e300",
    "-1e300",
    "NaN",
    "Infinity",
    "-0",
    "0x10",
    str(2**63 + 5),
    str(-(2**63) - 5),
    str(10**40),
    "null",
    "true",
    "[]",
    "{}",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31",
    "0001-01-01",
    "0000-00-00",
    "2026-02-30",
    "2026-03-01T25:61:61Z",
    "../../etc/passwd",
    "' OR 1=1 --",
    "%00",
    "<script>alert(1)</script>",
]
EDGE_INTS = [0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**63 + 5, -(2**63) - 1, 10**30]
EDGE_FLOATS = [1e300, -1e300, 0.5, -0.0, 1e-320, math.inf, -math.inf, math.nan]

scalars = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.sampled_from(EDGE_INTS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(EDGE_FLOATS),
    st.text(max_size=30),
    st.booleans(),
    st.none(),
)
hostile = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
EDGE_DATES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31",
    "0001-01-01",
]
dates = (
    st.sampled_from(EDGE_DATES)
    | st.sampled_from(["2026-03-01", "2026-03-01T09:30:00Z", "2031-12-31T23:00:00+01:00"])
    | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
)


def plausible(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that the schema allows (or nearly: bounds are edges to probe, not promises)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of(*(plausible(s) for s in schema["anyOf"]))
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") in ("date", "date-time"):
            return dates
        if "pattern" in schema:
            return st.from_regex(re.compile(schema["pattern"]), fullmatch=True)
        return st.sampled_from(SLUGS + USERNAMES) | st.text(
            max_size=min(60, schema.get("maxLength", 60))
        )
    if kind == "integer":
        lo, hi = schema.get("minimum"), schema.get("maximum")
        edges = [v for v in (lo, hi) if v is not None]
        edges += [v + d for v in edges for d in (-1, 1)]
        return st.integers(min_value=lo, max_value=hi) | st.sampled_from(edges or [0])
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(plausible(schema.get("items", {})), max_size=3)
    if kind == "object":
        return body_of(schema)
    return hostile


def field_value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Half the time what the schema allows, else an edge value or any hostile structure."""
    edges = st.sampled_from(HOSTILE_STRINGS + EDGE_DATES + EDGE_INTS + EDGE_FLOATS)
    return st.one_of(plausible(schema), plausible(schema), edges, hostile)


@st.composite
def body_of(draw: st.DrawFn, schema: dict[str, Any]) -> Any:
    """An object with some of the schema's fields (each plausible or hostile), maybe more."""
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    body = {}
    for name, sub in props.items():
        if name in required or draw(st.booleans()):
            body[name] = draw(field_value(sub))
    if isinstance(schema.get("additionalProperties"), dict):
        extra = draw(
            st.dictionaries(
                st.sampled_from(SLUGS), field_value(schema["additionalProperties"]), max_size=3
            )
        )
        body.update(extra)
    elif draw(st.integers(0, 9)) == 0:
        body[draw(st.text(max_size=10))] = draw(hostile)
    return body


def as_text(value: Any) -> str:
    """How a drawn value travels in a URL: JSON-ish for structures, str() for the rest."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, allow_nan=True)


@st.composite
def requests(draw: st.DrawFn, path: str, method: str, op: dict[str, Any]) -> Call:
    url = path
    query: list[tuple[str, str]] = []
    for param in op.get("parameters", []):
        schema = param.get("schema", {})
        if param["in"] == "path":
            value = draw(
                st.sampled_from(SLUGS if "slug" in param["name"] else USERNAMES)
                | st.sampled_from(EDGE_INTS).map(str)
                | field_value(schema).map(as_text)
                if schema.get("type") != "integer"
                else st.integers(0, 50) | st.sampled_from(EDGE_INTS) | hostile
            )
            url = url.replace("{" + param["name"] + "}", quote(as_text(value), safe="") or "x")
        elif param["in"] == "query" and (param.get("required") or draw(st.booleans())):
            query.append((param["name"], as_text(draw(field_value(schema)))))
    content: bytes | None = None
    body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "schema" in body_schema:
        whole = draw(st.integers(0, 19))
        if whole == 0:
            content = draw(
                st.sampled_from([b"", b"{", b"nul", b"\xff\xfe", b"[1,2]", b'"x"', b"1e999"])
            )
        elif whole == 1:
            content = json.dumps(draw(hostile), allow_nan=True).encode()
        else:
            content = json.dumps(draw(body_of(body_schema["schema"])), allow_nan=True).encode()
    return Call(method.upper(), url, query, content)


class Call(NamedTuple):
    """One drawn request."""

    method: str
    url: str
    query: list[tuple[str, str]]
    content: bytes | None

    def send(self, http: httpx.Client) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if self.content is not None else {}
        return http.request(
            self.method, self.url, params=self.query, content=self.content, headers=headers
        )


def assert_contract(call: Call, response: httpx.Response) -> None:
    """No 5xx; a 4xx in JSON has the contract's error body."""
    what = f"{call.method} {response.request.url} {(call.content or b'')[:300]!r} -> {response.text[:300]}"
    assert response.status_code < 500, what
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), what
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str), what


def operations_of(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method == "parameters" or (path, method) in SKIPPED:
                continue
            found.append((path, method, {**op, "parameters": shared + op.get("parameters", [])}))
    return found


def fuzz(base: str, token: str, document: dict[str, Any]) -> None:
    """Run the hypothesis search (blocking: in a thread, beside the server's event loop)."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10, headers=auth) as http:
        for path, method, op in operations_of(document):

            @given(call=requests(path, method, op))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(call: Call) -> None:
                assert_contract(call, call.send(http))

            check()


@pytest.mark.soak  # a long form: make soak-tests
@pytest.mark.slow
@pytest.mark.parametrize("username", ["ada", "mo"])
async def test_no_input_gets_a_server_error(
    server: str, client: httpx.AsyncClient, username: str
) -> None:
    """Drawn values for every parameter and field, as an admin and a moderator: no 5xx."""
    token = await login(client, server, username)
    document = (await client.get(f"{server}/openapi.json")).json()
    await asyncio.wait_for(asyncio.to_thread(fuzz, server, token, document), 300)

"""The HTTP part of the contract, against a real uvicorn, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import bearer, login, make_settings, password_of, running_server
from web.auth import COOKIE_NAME


async def test_login_returns_token_user_and_httponly_cookie(
    server: str, client: httpx.AsyncClient
) -> None:
    """POST /api/session gives a token, the user, and an HttpOnly SameSite=Lax cookie."""
    r = await client.post(
        f"{server}/api/session", json={"username": "ann", "password": password_of("ann")}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["user"]["username"] == "ann"
    assert body["user"]["layer"] == "gemeente"
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback


@pytest.mark.parametrize(
    ("username", "password"), [("ann", "wrong-password"), ("nobody", password_of("ann"))]
)
async def test_bad_credentials_are_indistinguishable(
    server: str, client: httpx.AsyncClient, username: str, password: str
) -> None:
    """Unknown user and wrong password get the same 401 bad_credentials."""
    r = await client.post(
        f"{server}/api/session", json={"username": username, "password": password}
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_credentials"


async def test_repeated_failures_are_rate_limited_with_retry_after(
    server: str, client: httpx.AsyncClient
) -> None:
    """After repeated failures the login answers 429 rate_limited with Retry-After."""
    codes = []
    for _ in range(7):
        r = await client.post(f"{server}/api/session", json={"username": "amy", "password": "nope"})
        codes.append(r.status_code)
    assert codes[0] == 401
    assert codes[-1] == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1
    # Even the right password is refused while the block lasts.
    r = await client.post(
        f"{server}/api/session", json={"username": "amy", "password": password_of("amy")}
    )
    assert r.status_code == 429


async def test_malformed_login_body_is_a_clear_400(server: str, client: httpx.AsyncClient) -> None:
    """A login body that is not a JSON object is refused with a message, not a 500."""
    for content in (b"not json", b"[1,2]", b'{"username": 5, "password": "x"}'):
        r = await client.post(f"{server}/api/session", content=content)
        assert r.status_code == 400
        assert r.json()["error"]["message"]


async def test_me_with_bearer_and_cookie(server: str, client: httpx.AsyncClient) -> None:
    """GET /api/me works with the Bearer token and with the cookie alone."""
    token = await login(client, server, "bob")
    r = await client.get(f"{server}/api/me", headers=bearer(token))
    assert r.status_code == 200 and r.json()["user"]["username"] == "bob"
    r = await client.get(f"{server}/api/me", headers={"Cookie": f"{COOKIE_NAME}={token}"})
    assert r.status_code == 200 and r.json()["user"]["username"] == "bob"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
async def test_missing_or_invalid_auth_is_401(
    server: str, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """Without a valid session every API call answers 401 unauthenticated."""
    for path in ("/api/me", "/api/rooms", "/api/rooms/theme-one/events"):
        r = await client.get(f"{server}{path}", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthenticated"


async def test_logout_revokes_token_and_cookie(server: str, client: httpx.AsyncClient) -> None:
    """DELETE /api/session answers 204, after which the token no longer works."""
    token = await login(client, server, "ann")
    r = await client.delete(f"{server}/api/session", headers=bearer(token))
    assert r.status_code == 204
    r = await client.get(f"{server}/api/me", headers=bearer(token))
    assert r.status_code == 401


async def test_cookie_state_change_from_foreign_origin_is_refused(
    server: str, client: httpx.AsyncClient
) -> None:
    """A cookie-authenticated logout from another Origin is 403; from our own it works."""
    token = await login(client, server, "ann")
    cookie = f"{COOKIE_NAME}={token}"
    r = await client.request(
        "DELETE",
        f"{server}/api/session",
        headers={"Cookie": cookie, "Origin": "http://evil.example"},
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    r = await client.request(
        "DELETE", f"{server}/api/session", headers={"Cookie": cookie, "Origin": server}
    )
    assert r.status_code == 204


async def test_a_forged_host_header_does_not_make_its_origin_allowed(
    server: str, client: httpx.AsyncClient
) -> None:
    """The default allowed origin is where the server listens, never the Host header."""
    token = await login(client, server, "ann")
    r = await client.request(
        "DELETE",
        f"{server}/api/session",
        headers={
            "Cookie": f"{COOKIE_NAME}={token}",
            "Host": "evil.example",
            "Origin": "http://evil.example",
        },
    )
    assert r.status_code == 403


async def test_the_public_url_is_the_allowed_origin(db_url: str, client: httpx.AsyncClient) -> None:
    """With WERKPLAATS_PUBLIC_URL set, its origin is allowed and the listening address is not."""
    settings = make_settings(db_url, public_url="https://werkplaats.example.nl/")
    async with running_server(settings) as base:
        token = await login(client, base, "ann")
        own = {"Cookie": f"{COOKIE_NAME}={token}", "Origin": base}
        assert (
            await client.request("DELETE", f"{base}/api/session", headers=own)
        ).status_code == 403
        public = {**own, "Origin": "https://werkplaats.example.nl"}
        r = await client.request("DELETE", f"{base}/api/session", headers=public)
        assert r.status_code == 204


async def test_rooms_lists_only_readable_rooms(server: str, client: httpx.AsyncClient) -> None:
    """A member sees their area, all themes and meetings; never another area."""
    token = await login(client, server, "ann")
    r = await client.get(f"{server}/api/rooms", headers=bearer(token))
    assert r.status_code == 200
    rooms = {room["slug"]: room for room in r.json()["rooms"]}
    assert set(rooms) == {"area-a", "theme-one", "theme-two", "meeting-one"}
    for room in rooms.values():
        assert set(room) >= {"slug", "name", "kind", "topic", "last_seq", "read_seq", "unread"}
    assert rooms["area-a"]["kind"] == "area"
    assert rooms["theme-one"]["kind"] == "theme"


async def test_staff_reads_every_area(server: str, client: httpx.AsyncClient) -> None:
    """Global moderators and admins may read every area room."""
    for username in ("mo", "ada"):
        token = await login(client, server, username)
        r = await client.get(f"{server}/api/rooms", headers=bearer(token))
        assert {"area-a", "area-b"} <= {room["slug"] for room in r.json()["rooms"]}


async def test_events_of_unreadable_or_unknown_room(server: str, client: httpx.AsyncClient) -> None:
    """Another area's history is 403 forbidden; an unknown slug is 404 not_found."""
    token = await login(client, server, "bob")
    r = await client.get(f"{server}/api/rooms/area-a/events", headers=bearer(token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await client.get(f"{server}/api/rooms/no-such-room/events", headers=bearer(token))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "query", ["after=-1", "limit=0", "limit=1001", "after=x", "after=1&before=5"]
)
async def test_events_bad_paging_parameters(
    server: str, client: httpx.AsyncClient, query: str
) -> None:
    """Out-of-range or malformed paging parameters get a 400 with a message."""
    token = await login(client, server, "ann")
    r = await client.get(f"{server}/api/rooms/theme-one/events?{query}", headers=bearer(token))
    assert r.status_code == 400
    assert r.json()["error"]["message"]


async def test_health_and_readiness(server: str, client: httpx.AsyncClient) -> None:
    """/healthz answers 200 while serving; /readyz 200 when database and broker answer."""
    assert (await client.get(f"{server}/healthz")).status_code == 200
    assert (await client.get(f"{server}/readyz")).status_code == 200


async def test_security_headers_on_every_response(server: str, client: httpx.AsyncClient) -> None:
    """CSP, nosniff and referrer policy are on API and page responses alike."""
    for path in ("/healthz", "/api/me"):
        r = await client.get(f"{server}{path}")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"


async def test_rooms_show_the_next_meeting(server: str, client: httpx.AsyncClient) -> None:
    """A theme room lists the next meeting it prepares for (the fixture's, a month ahead)."""
    token = await login(client, server, "ann")
    rooms = {
        r["slug"]: r
        for r in (await client.get(f"{server}/api/rooms", headers=bearer(token))).json()["rooms"]
    }
    assert rooms["theme-one"]["next_meeting"]["slug"] == "meeting-one"
    assert rooms["theme-one"]["next_meeting"]["place"] == "Tijnje"
    assert rooms["theme-one"]["unread_mentions"] == 0

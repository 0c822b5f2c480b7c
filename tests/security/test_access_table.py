"""The access table: every path, tried by everyone who must be refused, with the contract's answer.

Personas (tests/fixtures/community.template.toml; area-a is the room under test):
- `outsider`: bob, a member of area-b only;
- `muted`: amy, an area-a member muted there (she may still read and report);
- `banned`: ann, an area-a member banned from it (her own messages included);
- `logged_out`: a token of amy whose session was ended with DELETE /api/session;
- `foreign_origin`: rita, who moderates area-a, with her session cookie and a foreign Origin
  (only state-changing calls and the WebSocket upgrade: a GET is judged by the cookie alone).

Each row names the path, the personas it applies to and the expected answer per persona:
an HTTP status (with the contract's error code for refusals) or a WebSocket `error` code;
`ALLOWED` marks what a persona may still do (the muted user reads, reports, retracts).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from persistence.db import Database
from persistence.models import Session, utcnow
from tests.helpers import ROOT, WERKPLAATS, ServerProcess, Templates, bearer, token_for, ws_url
from tests.security.conftest import serve_env
from web.auth import COOKIE_NAME, token_hash

ROOM = "area-a"
MEETING = "meeting-one"
FOREIGN = "https://evil.example"
ALLOWED = "allowed"
SECRET_WORD = "kievitsbloem"
PERSONAS = ("outsider", "muted", "banned", "logged_out", "foreign_origin")
ERROR_CODES = {401: "unauthenticated", 403: "forbidden"}


class WS:
    """A synchronous /ws connection that records every frame."""

    def __init__(self, base: str, token: str | None = None, **headers: str) -> None:
        extra = {**headers, **(bearer(token) if token else {})}
        self.ws: ClientConnection = connect(
            ws_url(base), additional_headers=extra, open_timeout=10, legacy=True
        )
        self.frames: list[dict[str, Any]] = []
        self.refs = 0
        self.hello = self.next(lambda f: f["type"] == "hello")

    def _read(self, timeout: float) -> None:
        raw = self.ws.recv(timeout=timeout)
        self.frames += [json.loads(line) for line in str(raw).split("\n") if line.strip()]

    def next(self, match: Any, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for frame in self.frames[seen:]:
                if match(frame):
                    return frame
            seen = len(self.frames)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame")
            self._read(left)

    def request(self, frame: dict[str, Any]) -> dict[str, Any] | None:
        """Send with a ref, then a fenced ping: the reply to the frame, or None if it had none."""
        self.refs += 1
        ref, fence = f"q{self.refs}", f"fence{self.refs}"
        self.ws.send(json.dumps({**frame, "ref": ref}))
        self.ws.send(json.dumps({"type": "ping", "ref": fence}))
        self.next(lambda f: f.get("ref") == fence)
        return next((f for f in self.frames if f.get("ref") == ref), None)

    def close(self) -> None:
        self.ws.close()


@dataclass
class World:
    """The server and the state the table runs against."""

    server: ServerProcess
    tokens: dict[str, str]
    messages: dict[str, int]
    report_id: int
    cookie: str
    ws: dict[str, WS] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.server.url


def post(world: World, who: str, path: str, body: dict[str, Any]) -> httpx.Response:
    r = httpx.post(f"{world.base}{path}", json=body, headers=bearer(world.tokens[who]), timeout=10)
    assert r.status_code < 300, r.text
    return r


def send(conn: WS, body: str) -> int:
    client_id = f"cid-{abs(hash(body))}"
    reply = conn.request({"type": "send", "room": ROOM, "body": body, "client_id": client_id})
    assert reply is not None and reply["type"] == "ack", reply
    message_id: int = reply["message_id"]
    return message_id


@pytest.fixture(scope="module")
def world(templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server of its own: messages by ann and amy, amy muted, ann banned, a report, a logout."""
    server = ServerProcess(serve_env(templates, tmp_path_factory.mktemp("access")))
    server.start()
    try:
        server.wait_ready(60)
        tokens = {u: token_for(server.url, u) for u in ("ada", "rita", "ann", "amy", "bob")}
        messages: dict[str, int] = {}
        for author, names in (("ann", ("M1", "M2")), ("amy", ("A1", "A2", "A3"))):
            conn = WS(server.url, tokens[author])
            for name in names:
                messages[name] = send(conn, f"{name} {SECRET_WORD} van {author}")
            conn.close()
        world = World(server, tokens, messages, 0, token_for(server.url, "rita"))
        report = post(
            world, "rita", f"/api/rooms/{ROOM}/messages/{messages['A3']}/report", {"reason": "test"}
        )
        world.report_id = report.json()["report"]["id"]
        post(
            world,
            "rita",
            f"/api/rooms/{ROOM}/mutes",
            {"username": "amy", "minutes": 60, "reason": "afkoelen"},
        )
        post(world, "rita", f"/api/rooms/{ROOM}/bans", {"username": "ann", "reason": "test"})
        ended = token_for(server.url, "amy")
        r = httpx.delete(f"{server.url}/api/session", headers=bearer(ended), timeout=10)
        assert r.status_code == 204
        world.tokens.update(outsider=tokens["bob"], muted=tokens["amy"], banned=tokens["ann"])
        world.tokens["logged_out"] = ended
        for persona in ("outsider", "muted", "banned"):
            world.ws[persona] = WS(server.url, world.tokens[persona])
        yield world
        for conn in world.ws.values():
            conn.close()
    finally:
        server.stop()


# --- HTTP -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Http:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    # Who may do it: "reader" (muted amy may), "poster" (not while muted), "moderator", "admin".
    needs: str = "moderator"
    ok: int = 200

    @property
    def changes_state(self) -> bool:
        return self.method not in ("GET", "HEAD")

    def expected(self, persona: str) -> int | str:
        if persona == "logged_out":
            return 401
        if persona == "muted" and self.needs == "reader":
            return ALLOWED
        return 403

    def code(self, persona: str, status: int) -> str:
        if persona == "muted" and self.needs == "poster":
            return "muted"
        return ERROR_CODES[status]


R = f"/api/rooms/{ROOM}"
HTTP_ROWS = [
    Http("history", "GET", f"{R}/events?after=0", needs="reader"),
    Http("search in the room", "GET", f"/api/search?q={SECRET_WORD}&room={ROOM}", needs="reader"),
    Http("room settings", "PATCH", R, {"topic": "overgenomen"}),
    Http("hide", "POST", f"{R}/messages/{{M1}}/hide", {"reason": "x"}),
    Http("report", "POST", f"{R}/messages/{{M2}}/report", {"reason": "x"}, "reader", 201),
    Http("ban", "POST", f"{R}/bans", {"username": "rita", "reason": "x"}),
    Http("list bans", "GET", f"{R}/bans"),
    Http("lift ban", "DELETE", f"{R}/bans/ann"),
    Http("mute", "POST", f"{R}/mutes", {"username": "rita", "minutes": 5, "reason": "x"}),
    Http("list mutes", "GET", f"{R}/mutes"),
    Http("lift mute", "DELETE", f"{R}/mutes/amy"),
    Http("add moderator", "POST", f"{R}/moderators", {"username": "bob"}, "admin"),
    Http("list moderators", "GET", f"{R}/moderators", needs="reader"),
    Http("remove moderator", "DELETE", f"{R}/moderators/rita", needs="admin"),
    Http("add member", "POST", f"{R}/members", {"username": "bob"}),
    Http("list members", "GET", f"{R}/members", needs="reader"),
    Http("remove member", "DELETE", f"{R}/members/amy"),
    Http("pin", "POST", f"{R}/pins/{{M1}}"),
    Http("list pins", "GET", f"{R}/pins", needs="reader"),
    Http("unpin", "DELETE", f"{R}/pins/{{M1}}"),
    Http("reports", "GET", f"/api/reports?room={ROOM}"),
    Http("handle report", "PATCH", "/api/reports/{report}", {"status": "dismissed"}),
    Http("audit log", "GET", f"/api/audit?room={ROOM}"),
    Http("bans and mutes in force", "GET", f"/api/sanctions?room={ROOM}"),
    Http("people of the room", "GET", f"/api/people?q=a&room={ROOM}", needs="reader"),
    Http("mark", "POST", f"{R}/messages/{{M1}}/mark", {"kind": "vraag"}, "poster"),
    Http("unmark", "DELETE", f"{R}/messages/{{M1}}/mark", needs="poster"),
    Http("mark answered", "POST", f"{R}/messages/{{M1}}/answered", {"reply_id": 1}, "poster"),
    Http("action status", "POST", f"{R}/messages/{{M1}}/status", {"status": "gedaan"}, "poster"),
    Http("tag themes", "POST", f"{R}/messages/{{M1}}/tags", {"themes": ["theme-one"]}, "poster"),
    Http("catch-up read", "POST", "/api/catchup/read", {"rooms": {ROOM: 1}}, "reader"),
    Http("notification level", "PUT", f"{R}/notifications", {"level": "all"}, "reader"),
    Http(
        "create meeting",
        "POST",
        "/api/meetings",
        {
            "slug": "m-x",
            "title": "x",
            "theme": "theme-one",
            "date": "2027-01-05T10:00:00Z",
            "place": "x",
        },
        "admin",
        201,
    ),
    Http("change meeting", "PATCH", f"/api/meetings/{MEETING}", {"place": "x"}, "admin"),
    Http("presence list", "GET", f"/api/meetings/{MEETING}/registrations"),
    Http("attendance", "POST", f"/api/meetings/{MEETING}/attendance", {"present": ["amy"]}),
]
HTTP_CASES = [
    pytest.param(row, persona, id=f"{row.name} as {persona}")
    for row in HTTP_ROWS
    for persona in PERSONAS
    if persona != "foreign_origin" or row.changes_state
]


def call(world: World, row: Http, persona: str) -> httpx.Response:
    path = row.path.format(report=world.report_id, **world.messages)
    if persona == "foreign_origin":
        headers = {"Origin": FOREIGN, "Cookie": f"{COOKIE_NAME}={world.cookie}"}
    else:
        headers = bearer(world.tokens[persona])
    return httpx.request(
        row.method, f"{world.base}{path}", json=row.body, headers=headers, timeout=10
    )


@pytest.mark.parametrize(("row", "persona"), HTTP_CASES)
def test_http_path(world: World, row: Http, persona: str) -> None:
    """Each HTTP path as each persona: the contract's refusal (or, where allowed, success)."""
    r = call(world, row, persona)
    expected = row.expected(persona)
    if expected == ALLOWED:
        assert r.status_code == row.ok, r.text
        return
    assert r.status_code == expected, r.text
    assert r.json()["error"]["code"] == row.code(persona, r.status_code)


def test_foreign_origin_rows_would_be_allowed_from_the_right_origin(world: World) -> None:
    """Control: rita's cookie from the server's own origin may moderate (so Origin is the reason)."""
    r = httpx.get(
        f"{world.base}/api/rooms/{ROOM}/bans",
        headers={"Origin": world.base, "Cookie": f"{COOKIE_NAME}={world.cookie}"},
        timeout=10,
    )
    assert r.status_code == 200


@pytest.mark.parametrize("persona", ["outsider", "banned", "muted"])
def test_search_without_room_filter(world: World, persona: str) -> None:
    """Search over all rooms finds area-a text only for readers (the muted user reads)."""
    r = httpx.get(
        f"{world.base}/api/search",
        params={"q": SECRET_WORD},
        headers=bearer(world.tokens[persona]),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    rooms = {hit["room"] for hit in r.json()["hits"]}
    assert (ROOM in rooms) == (persona == "muted"), r.json()


@pytest.mark.parametrize("persona", ["outsider", "banned"])
@pytest.mark.parametrize("path", ["/api/catchup", "/api/rooms"])
def test_summaries_never_name_the_room(world: World, persona: str, path: str) -> None:
    """Catch-up, overview and the room list say nothing of a room the caller may not read."""
    r = httpx.get(f"{world.base}{path}", headers=bearer(world.tokens[persona]), timeout=10)
    assert r.status_code == 200, r.text
    assert ROOM not in r.text and SECRET_WORD not in r.text


@pytest.mark.parametrize("persona", ["outsider", "banned", "muted"])
def test_overview_counts_only_readable_rooms(world: World, persona: str) -> None:
    """The overview keeps area-a's row for everyone, but counts its messages only for readers."""
    tagged = f"{R}/messages/{world.messages['A1']}/tags"
    post(world, "rita", tagged, {"themes": ["theme-one"]})
    r = httpx.get(f"{world.base}/api/overview", headers=bearer(world.tokens[persona]), timeout=10)
    assert r.status_code == 200 and SECRET_WORD not in r.text
    row = next(a for a in r.json()["areas"] if a["slug"] == ROOM)
    counted = sum(cell["messages"] for cell in row["cells"])
    assert row["readable"] == (persona == "muted")
    assert (counted > 0) == (persona == "muted"), row


@pytest.mark.parametrize("persona", ["outsider", "banned"])
def test_room_list_and_hello_leave_the_room_out(world: World, persona: str) -> None:
    """GET /api/rooms and `hello` do not list a room the caller may not read."""
    r = httpx.get(f"{world.base}/api/rooms", headers=bearer(world.tokens[persona]), timeout=10)
    assert ROOM not in {room["slug"] for room in r.json()["rooms"]}
    assert ROOM not in {room["slug"] for room in world.ws[persona].hello["rooms"]}


# --- WebSocket --------------------------------------------------------------------------------

# Frame, then the expected answer per persona (an `error` code, or ALLOWED).
WS_ROWS: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "subscribe": (
        {"type": "subscribe", "room": ROOM, "since": 0},
        {"outsider": "forbidden", "muted": ALLOWED, "banned": "forbidden"},
    ),
    "send": (
        {"type": "send", "room": ROOM, "body": "mag dit?", "client_id": "access-send"},
        {"outsider": "forbidden", "muted": "muted", "banned": "forbidden"},
    ),
    "edit own": (
        {"type": "edit", "room": ROOM, "message_id": "{own}", "body": "bewerkt"},
        {"outsider": "forbidden", "muted": "muted", "banned": "forbidden"},
    ),
    "edit another's": (
        {"type": "edit", "room": ROOM, "message_id": "{M1}", "body": "bewerkt"},
        {"outsider": "forbidden", "muted": "muted", "banned": "forbidden"},
    ),
    "retract own": (
        {"type": "retract", "room": ROOM, "message_id": "{own_retract}"},
        {"outsider": "forbidden", "muted": ALLOWED, "banned": "forbidden"},
    ),
    "retract another's": (
        {"type": "retract", "room": ROOM, "message_id": "{M2}"},
        {"outsider": "forbidden", "muted": "forbidden", "banned": "forbidden"},
    ),
    "typing": (
        {"type": "typing", "room": ROOM},
        {"outsider": "forbidden", "muted": ALLOWED, "banned": "forbidden"},
    ),
    "read marker": (
        {"type": "read", "room": ROOM, "seq": 1},
        {"outsider": "forbidden", "muted": ALLOWED, "banned": "forbidden"},
    ),
}
OWN = {"outsider": ("M1", "M2"), "muted": ("A1", "A2"), "banned": ("M1", "M2")}
WS_CASES = [
    pytest.param(name, persona, id=f"{name} as {persona}")
    for name in WS_ROWS
    for persona in ("outsider", "muted", "banned")
]


@pytest.mark.parametrize(("name", "persona"), WS_CASES)
def test_ws_path(world: World, name: str, persona: str) -> None:
    """Each /ws frame as each persona: an `error` with the contract's code, or accepted."""
    frame, answers = WS_ROWS[name]
    own, own_retract = OWN[persona]
    ids = {
        **world.messages,
        "own": world.messages[own],
        "own_retract": world.messages[own_retract],
    }
    frame = {
        k: (ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v)
        for k, v in frame.items()
    }
    reply = world.ws[persona].request(frame)
    expected = answers[persona]
    if expected == ALLOWED:
        assert reply is None or reply["type"] != "error", reply
    else:
        assert reply is not None and reply["type"] == "error", reply
        assert reply["code"] == expected, reply


@pytest.mark.parametrize(
    ("persona", "status"), [("logged_out", 401), ("foreign_origin", 403), ("no token", 401)]
)
def test_ws_upgrade_refused(world: World, persona: str, status: int) -> None:
    """No WebSocket without a live session (401) or from a foreign Origin (403)."""
    if persona == "foreign_origin":
        headers = {"Origin": FOREIGN, "Cookie": f"{COOKIE_NAME}={world.cookie}"}
    elif persona == "logged_out":
        headers = bearer(world.tokens["logged_out"])
    else:
        headers = {}
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(world.base), additional_headers=headers, open_timeout=10, legacy=True)
    assert refused.value.response.status_code == status


def test_foreign_origin_upgrade_refused_also_with_bearer(world: World) -> None:
    """The Origin check of the upgrade does not depend on how the client authenticates."""
    with pytest.raises(InvalidStatus) as refused:
        WS(world.base, world.tokens["rita"], Origin=FOREIGN)
    assert refused.value.response.status_code == 403


def test_nothing_of_the_room_reaches_who_may_not_read_it(world: World) -> None:
    """While members talk, type and come and go, outsider and banned get no area-a frame."""
    rita = WS(world.base, world.tokens["rita"])
    amy = WS(world.base, world.tokens["muted"])
    for conn in (rita, amy):
        assert conn.request({"type": "subscribe", "room": ROOM, "since": None})
    rita.request({"type": "typing", "room": ROOM})
    send(rita, "live bericht voor leden")
    rita.request({"type": "edit", "room": ROOM, "message_id": send(rita, "tweede"), "body": "x"})
    amy.close()
    time.sleep(1.0)  # presence is debounced
    rita.close()
    for persona in ("outsider", "banned"):
        conn = world.ws[persona]
        conn.request({"type": "ping"})
        leaked = [f for f in conn.frames if f.get("room") == ROOM and f["type"] not in ("error",)]
        assert not leaked, leaked


# --- Export (CLI) -----------------------------------------------------------------------------


def cli(world: World, *args: str) -> str:
    env = {**world.server.env}
    done = subprocess.run(
        [WERKPLAATS, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_export_user_holds_only_that_users_data(world: World) -> None:
    """`export-user bob` (AVG art. 15) holds none of area-a's messages."""
    out = cli(world, "export-user", "bob")
    assert SECRET_WORD not in out and ROOM not in json.loads(out).get("moderates", [])


def test_export_room_keeps_hidden_text_out(world: World) -> None:
    """`export-room` leaves the text of a retracted message out unless asked (and audited)."""
    hidden = f"A2 {SECRET_WORD} van amy"  # retracted by amy in the table above, or here
    WS(world.base, world.tokens["muted"]).request(
        {"type": "retract", "room": ROOM, "message_id": world.messages["A2"]}
    )
    assert hidden not in cli(world, "export-room", ROOM, "--format", "json")
    assert hidden in cli(world, "export-room", ROOM, "--format", "json", "--include-hidden")


# --- Sessions ending on open sockets ----------------------------------------------------------


def closed_with(conn: WS, timeout: float) -> int | None:
    try:
        conn.next(lambda f: False, timeout)
    except (ConnectionClosed, TimeoutError):
        pass
    return conn.ws.close_code


def test_logout_closes_the_sessions_sockets_1008(world: World) -> None:
    """DELETE /api/session closes every open WebSocket of that session (two tabs) with 1008."""
    token = token_for(world.base, "amy")
    tabs = [WS(world.base, token), WS(world.base, token)]
    assert httpx.delete(f"{world.base}/api/session", headers=bearer(token)).status_code == 204
    assert [closed_with(tab, 5) for tab in tabs] == [1008, 1008]


def test_ban_removes_the_room_from_open_sockets(world: World) -> None:
    """A ban sends `removed` at once, and no frame of that room follows."""
    bob = WS(world.base, world.tokens["bob"])
    assert bob.request({"type": "subscribe", "room": "theme-two", "since": None})
    post(world, "ada", "/api/rooms/theme-two/bans", {"username": "bob", "reason": "test"})
    removed = bob.next(lambda f: f["type"] == "removed", 5)
    assert removed["room"] == "theme-two"
    rita = WS(world.base, world.tokens["rita"])
    rita.request({"type": "subscribe", "room": "theme-two", "since": None})
    rita.request({"type": "send", "room": "theme-two", "body": "na de ban", "client_id": "nb"})
    bob.request({"type": "ping"})
    after = bob.frames[bob.frames.index(removed) + 1 :]
    assert not [f for f in after if f.get("room") == "theme-two" and f["type"] != "error"]
    rita.close()
    bob.close()


def test_session_expiry_closes_open_sockets_1008(world: World) -> None:
    """A socket whose session expires is closed with 1008 when it does."""
    token = token_for(world.base, "rita")

    async def expire() -> None:
        db = Database(world.server.env["WERKPLAATS_DATABASE_URL"])
        try:
            async with db.write() as session:
                await session.execute(
                    update(Session)
                    .where(
                        Session.token_hash
                        == token_hash(token, world.server.env["WERKPLAATS_SECRET_KEY"])
                    )
                    .values(expires_at=utcnow() + timedelta(seconds=1))
                )
        finally:
            await db.dispose()

    asyncio.run(expire())
    conn = WS(world.base, token)
    time.sleep(1.2)
    assert httpx.get(f"{world.base}/api/me", headers=bearer(token)).status_code == 401
    assert closed_with(conn, 3) == 1008


def test_table_covers_every_moderation_route() -> None:
    """Every moderation and meeting route of the app has a row in the HTTP table."""
    from web.api import catchup, marks, meetings, moderation
    from web.openapi import route_key, served_routes

    # Open to every participant, about no single room: nothing to refuse but 401 (and the
    # summaries are checked by test_summaries_never_name_the_room).
    covered = {("/api/meetings", "get"), ("/api/catchup", "get")}
    # Every participant reads every meeting, registers, and has a calendar of their own.
    covered |= {
        ("/api/meetings/{slug}", "get"),
        ("/api/meetings/{slug}/registration", "put"),
        ("/api/meetings/{slug}/ics", "get"),
        ("/api/me/calendar", "post"),
        ("/api/me/calendar", "delete"),
        ("/api/calendar/{secret}.ics", "get"),
    }
    for row in HTTP_ROWS:
        path = row.path.split("?")[0].replace(ROOM, "{slug}").replace(MEETING, "{slug}")
        covered.add((path, row.method.lower()))
    for path, method in served_routes(
        moderation.routes() + meetings.routes() + marks.routes() + catchup.routes()
    ):
        key = route_key(path, method)
        generic = (
            key[0].replace("{message_id}", "{M1}").replace("{report_id}", "{report}"),
            key[1],
        )
        names = {key, generic, (generic[0].replace("{M1}", "{M2}"), key[1])}
        names |= {
            (n[0].replace("{username}", u), n[1])
            for n in set(names)
            for u in ("ann", "amy", "rita")
        }
        assert names & covered, f"{method.upper()} {path} has no row in the access table"

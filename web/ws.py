"""`/ws`: authenticate and check the Origin at the upgrade, then hand frames to the hub.

Everything the protocol means lives in `chat/`; this module adapts Starlette's WebSocket
to it: refusals at the upgrade (HTTP 403 for an Origin that is not allowed, HTTP 401
without a valid session, HTTP 429 with `Retry-After` past the sockets allowed per user
or address (web/socketlimits.py), HTTP 503 with `Retry-After` when too many set-ups
wait; no WebSocket is opened), the size limit (1009), the idle timeout, and reading one frame at
a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketState

from chat import metrics
from chat.connection import ClientConnection
from chat.frames import HelloUser
from chat.outbound import CLOSE_GOING_AWAY, CLOSE_POLICY, CLOSE_TOO_BIG, DirectWriter
from chat.timerwheel import TimerWheel
from persistence.models import utcnow
from rooms.errors import Unauthenticated
from web import internals, requestlog
from web.admission import AdmissionGate
from web.auth import authenticate_arrival, origin_allowed
from web.deps import Services, client_address, services
from web.responses import error_response
from web.socketlimits import RETRY_AFTER, Claim

log = logging.getLogger("werkplaats.ws")
_SETUP_SECONDS = metrics.DB_SECONDS.labels("setup")

# An upgrade refused because the database did not answer: come back after this long.
DATABASE_RETRY_AFTER = 2.0


class StarletteSocket:
    """The `chat.outbound.Socket` of a Starlette WebSocket."""

    __slots__ = ("websocket",)

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send_text(self, data: str) -> None:
        await self.websocket.send({"type": "websocket.send", "text": data})

    async def close(self, code: int, reason: str) -> None:
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            await self.websocket.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection when not even a close frame can be written."""
        internals.abort(self.websocket)

    def direct(self) -> DirectWriter | None:
        """Write frames straight to uvicorn's transport when it can (see `web.internals`);
        else None (the ASGI `send` path)."""
        return internals.direct_writer(self.websocket)


async def refuse(
    websocket: WebSocket, code: str, message: str, status: int, retry_after: float | None = None
) -> None:
    """Answer the upgrade with an HTTP error; servers without the denial extension say 403.

    Since 0.55 uvicorn counts the denial as the end of the handshake, so a refusal logs no
    ERROR (it did for each wrong token before; tests/web/test_internals.py holds it to that).
    """
    try:
        await websocket.send_denial_response(error_response(code, message, status, retry_after))
    except RuntimeError:
        await websocket.close(1008, message)


SETUP_REFUSED_CODE = "unavailable"
SETUP_REFUSED_MESSAGE = "too many connections are being set up; retry after Retry-After seconds"


def refusal_now(
    gate: AdmissionGate, default_headers: Iterable[tuple[bytes, bytes]]
) -> bytes | None:
    """The whole HTTP answer to an upgrade of `/ws` that the set-up gate would refuse at
    once (503 with `Retry-After`, the body `_open`'s refusal has), or None to let it in.

    For the HTTP protocol (web/guard.py), before the WebSocket handshake is parsed: a herd
    is refused thousands of times, and each refusal through the app cost a handshake parsed
    by websockets, a task, Starlette's routing and a denial response (docs/performance.md).
    """
    if not gate.full():
        return None
    metrics.SETUPS_REFUSED.inc()
    answer = error_response(SETUP_REFUSED_CODE, SETUP_REFUSED_MESSAGE, 503, gate.retry_after())
    headers = [*default_headers, *answer.raw_headers, (b"connection", b"close")]
    head = [b"HTTP/1.1 503 Service Unavailable\r\n"]
    head += [name + b": " + value + b"\r\n" for name, value in headers]
    return b"".join(head) + b"\r\n" + answer.body


async def websocket_endpoint(websocket: WebSocket) -> None:
    svc = services(websocket)
    requestlog.new_request_id()
    claim = svc.gates.sockets.claim(client_address(websocket))
    if claim is None:
        await refuse(
            websocket, "rate_limited", "too many connections from this address", 429, RETRY_AFTER
        )
        return
    # The set-up's coroutine ends before the live part begins: an open connection's task
    # holds two frames of this module, not three.
    try:
        arrived = await _open(websocket, svc, claim)
        if arrived is not None:
            await _live(websocket, svc, *arrived)
    finally:
        claim.release()


async def _open(
    websocket: WebSocket, svc: Services, claim: Claim
) -> tuple[ClientConnection, datetime] | None:
    """The Origin, the set-up gate, then `_set_up`; None when the upgrade was refused."""
    settings = svc.settings
    origin = websocket.headers.get("origin")
    if origin is not None and not origin_allowed(origin, websocket, settings):
        await refuse(websocket, "forbidden", "this Origin is not allowed", 403)
        return None
    gate = svc.gates.ws_setup
    entered = await gate.enter()
    if entered is None:
        metrics.SETUPS_REFUSED.inc()
        await refuse(websocket, SETUP_REFUSED_CODE, SETUP_REFUSED_MESSAGE, 503, gate.retry_after())
        return None
    if internals.client_gone(websocket):
        # A herd's clients give up and come back while their upgrades wait: setting up
        # the ones that left (database reads, hello) is work no one receives.
        gate.leave(entered, measured=False)
        metrics.SETUPS_ABANDONED.inc()
        return None
    try:
        return await _set_up(websocket, svc, claim)
    finally:
        gate.leave(entered)


async def _set_up(
    websocket: WebSocket, svc: Services, claim: Claim
) -> tuple[ClientConnection, datetime] | None:
    """Authenticate (with `hello`'s rooms, one database call), claim the user's place,
    accept, register, queue `hello`; None when the upgrade was refused."""
    started = time.perf_counter()
    try:
        who, rooms = await authenticate_arrival(websocket, svc.db, svc.settings)
    except Unauthenticated as exc:
        _SETUP_SECONDS.observe(time.perf_counter() - started)
        await refuse(websocket, exc.code, exc.message, 401)
        return None
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        # The database cannot be reached (a server starting while it restarts, a restore):
        # 503 with Retry-After, which clients retry, not a 500 and an ERROR per upgrade.
        log.warning("ws: upgrade refused, the database did not answer: %s", type(exc).__name__)
        await refuse(
            websocket, "unavailable", "the database is not available; try again", 503,
            retry_after=DATABASE_RETRY_AFTER,
        )  # fmt: skip
        return None
    _SETUP_SECONDS.observe(time.perf_counter() - started)
    if not claim.add_user(who.user.id):
        await refuse(
            websocket, "rate_limited", "too many connections for this user", 429, RETRY_AFTER
        )
        return None
    await websocket.accept()
    rt = svc.realtime
    conn = ClientConnection(
        rt,
        StarletteSocket(websocket),
        who.actor,
        HelloUser(
            username=who.user.username,
            display_name=who.user.display_name,
            organisation=who.user.organisation,
            layer=who.user.layer,
            role=who.user.role,
        ),
        who.token_hash,
    )
    rt.register(conn)
    try:
        await conn.start(rooms)
    except BaseException:
        await rt.unregister(conn)
        raise
    return conn, who.expires_at


class IdleTimer:
    """Closes the connection when no frame arrived for `idle` seconds (1001), or when its
    session expires (1008, within the second that it does).

    On the process's timer wheel (chat/timerwheel.py), not a timer handle of its own (one
    is ~0.5 KiB on every idle connection): a frame only notes the time, and a visit before
    either deadline puts it back on the wheel for the nearer one.
    """

    __slots__ = ("clock", "conn", "expires", "idle", "last", "wheel", "wheel_slot")

    def __init__(
        self, conn: ClientConnection, wheel: TimerWheel, idle: float, session_left: float
    ) -> None:
        self.conn = conn
        self.idle = idle
        self.clock = conn.clock
        self.last = self.clock.now()
        self.expires = self.last + max(0.0, session_left)
        self.wheel = wheel
        self.wheel_slot: int | None = None
        wheel.add(self, min(self.last + idle, self.expires))

    def due(self, now: float) -> float | None:
        if self.conn.closed:
            return None
        if now >= self.expires:
            self.conn.close(CLOSE_POLICY, "your session expired")
            return None
        idle_at = self.last + self.idle
        if now >= idle_at:
            self.conn.close(CLOSE_GOING_AWAY, f"idle for {self.idle:.0f}s")
            return None
        return min(idle_at, self.expires)

    def cancel(self) -> None:
        self.wheel.remove(self)


# What of the ASGI scope is read after the accept: Starlette's WebSocket asks the type,
# `web.internals` finds the protocol through the extensions.
KEPT_IN_SCOPE = ("type", "extensions")


def forget_upgrade(websocket: WebSocket) -> None:
    """Drop what only the upgrade needed from the scope: its headers (cleared in place:
    Starlette's cached `Headers` share the list), path, query, state, … (~1.5 KiB on each
    open connection; uvicorn, Starlette and the app hold the one scope dict)."""
    scope = websocket.scope
    scope["headers"].clear()
    kept = {key: scope[key] for key in KEPT_IN_SCOPE}
    scope.clear()
    scope.update(kept)


async def _live(
    websocket: WebSocket, svc: Services, conn: ClientConnection, expires_at: datetime
) -> None:
    """Feed received frames to the connection until either side closes, then unregister it.

    Read in the endpoint's own task, no task or future per frame, with the ASGI `receive`
    itself (no Starlette frame between): when the server closes the connection (any
    reason: idle, 1013, session), uvicorn queues the disconnect as it sends the close
    frame (or when the transport is aborted), which ends this loop.
    """
    settings, rt = svc.settings, svc.realtime
    max_bytes = settings.max_frame_bytes
    receive = internals.receiver(websocket)
    forget_upgrade(websocket)
    opened = requestlog.ws_opened(conn.username, conn.id)
    metrics.CONNECTIONS.inc()
    session_left = (expires_at - utcnow()).total_seconds()
    timer = IdleTimer(conn, rt.timers, settings.ws_idle_seconds, session_left)
    code: int | None = None
    try:
        while not conn.closed:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                code = message.get("code")
                break
            timer.last = timer.clock.now()
            if conn.closed:
                break
            text = message.get("text")
            # Neither the message nor its text is held while the next one is awaited.
            del message
            if text is None:
                conn.bad_frame("binary frames are not accepted; send JSON text")
                continue
            # The server's ws_max_size normally refuses these first; this holds for any server.
            if len(text) > max_bytes // 4 and len(text.encode()) > max_bytes:
                conn.close(CLOSE_TOO_BIG, f"frame over {max_bytes} bytes")
                break
            await conn.handle(text)
            del text
    finally:
        timer.cancel()
        await rt.unregister(conn)
        # The server's own close code when it closed first, else the client's.
        code = conn.outbound.close_code or code
        requestlog.ws_closed(conn.username, conn.id, code, opened)
        metrics.closed(code)

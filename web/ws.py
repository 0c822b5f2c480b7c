"""`/ws`: authenticate and check the Origin at the upgrade, then hand frames to the hub.

Everything the protocol means lives in `chat/`; this module adapts Starlette's WebSocket
to it: refusals at the upgrade (HTTP 403 for an Origin that is not allowed, HTTP 401
without a valid session; no WebSocket is opened), the size limit (1009), the idle
timeout, and reading one frame at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from chat.connection import ClientConnection
from chat.outbound import CLOSE_GOING_AWAY, CLOSE_POLICY, CLOSE_TOO_BIG
from chat.protocol import ProtocolError
from persistence.events import author_wire
from persistence.models import utcnow
from rooms.errors import Unauthenticated
from web.api.session import user_wire
from web.auth import authenticate, origin_allowed
from web.deps import services
from web.responses import error_response

log = logging.getLogger("werkplaats.ws")


class StarletteSocket:
    """The `chat.outbound.Socket` of a Starlette WebSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send_text(self, data: str) -> None:
        await self.websocket.send({"type": "websocket.send", "text": data})

    async def close(self, code: int, reason: str) -> None:
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            await self.websocket.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection when not even a close frame can be written.

        ASGI has no abort, so the server's transport is looked up behind the `send`
        callable (uvicorn's protocol method, wrapped in Starlette's closures).
        """
        transport = _find_transport(self.websocket._send)
        if transport is not None:
            transport.abort()


def _find_transport(send: Any, depth: int = 0) -> Any:
    owner = getattr(send, "__self__", None)
    transport = getattr(owner, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        return transport
    if depth > 8:
        return None
    for cell in getattr(send, "__closure__", None) or ():
        with contextlib.suppress(ValueError):
            found = _find_transport(cell.cell_contents, depth + 1)
            if found is not None:
                return found
    return None


async def refuse(websocket: WebSocket, code: str, message: str, status: int) -> None:
    """Answer the upgrade with an HTTP error; servers without the denial extension say 403."""
    try:
        await websocket.send_denial_response(error_response(code, message, status))
    except RuntimeError:
        await websocket.close(1008, message)


async def websocket_endpoint(websocket: WebSocket) -> None:
    svc = services(websocket)
    settings = svc.settings
    origin = websocket.headers.get("origin")
    if origin is not None and not origin_allowed(origin, websocket, settings):
        await refuse(websocket, "forbidden", "this Origin is not allowed", 403)
        return
    try:
        who = await authenticate(websocket, svc.db, settings)
    except Unauthenticated as exc:
        await refuse(websocket, exc.code, exc.message, 401)
        return
    await websocket.accept()
    rt = svc.realtime
    conn = ClientConnection(
        rt,
        StarletteSocket(websocket),
        who.actor,
        user_wire(who.user),
        who.token_hash,
        author_wire(who.user),
    )
    rt.register(conn)
    # The socket ends with its session: closed with 1008 the moment the session expires.
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, (who.expires_at - utcnow()).total_seconds()),
        conn.close,
        CLOSE_POLICY,
        "your session expired",
    )
    try:
        await conn.start()
        await _read(websocket, conn, settings.max_frame_bytes, settings.ws_idle_seconds)
    finally:
        expiry.cancel()
        await rt.unregister(conn)


async def _read(websocket: WebSocket, conn: ClientConnection, max_bytes: int, idle: float) -> None:
    """Feed received frames to the connection until either side closes."""
    closed = asyncio.ensure_future(conn.outbound.closed.wait())
    try:
        while not conn.closed:
            receive = asyncio.ensure_future(websocket.receive())
            done, _ = await asyncio.wait(
                {receive, closed}, timeout=idle, return_when=asyncio.FIRST_COMPLETED
            )
            if receive not in done:
                receive.cancel()
                if not done:
                    conn.close(CLOSE_GOING_AWAY, f"idle for {idle:.0f}s")
                return
            message = receive.result()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                conn.bad_frame("binary frames are not accepted; send JSON text")
                continue
            # The server's ws_max_size normally refuses these first; this holds for any server.
            if len(text) > max_bytes // 4 and len(text.encode()) > max_bytes:
                conn.close(CLOSE_TOO_BIG, f"frame over {max_bytes} bytes")
                return
            try:
                await conn.handle(text)
            except ProtocolError:  # pragma: no cover - handle() answers these itself
                log.exception("ws: unanswered protocol error")
    finally:
        closed.cancel()

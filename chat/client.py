# A client API for tests: every call that waits takes its own timeout, so none can hang.
# ruff: noqa: ASYNC109, ASYNC110
"""A Python client of `/ws`, for scripts, tests and benchmarks.

    token = await login("http://127.0.0.1:8000", "anna", "…")
    async with Client("http://127.0.0.1:8000", token) as c:
        await c.subscribe("veenweiden-aldeboarn", since=0)
        ack = await c.send("veenweiden-aldeboarn", "Goedemorgen")
        event = await c.wait_for(lambda f: f.get("seq") == ack["seq"])

What it does for you:
- reconnects after a lost connection (backoff with jitter) and subscribes every room
  again with `since` = the last seq it has, so it misses nothing and sees nothing twice;
- `send` picks a `client_id` and, when the connection drops before the `ack`, sends
  the same frame again after reconnecting: the server answers the original ack;
- a `truncated` backlog is backfilled from `GET /api/rooms/{slug}/events`;
- it records what a test wants to check: `events[room]` (in order), `duplicates`, `gaps`,
  and every frame in `frames`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import ssl as _ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

Frame = dict[str, Any]
PING_EVERY = 25.0
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
_AUTO = object()


class ClientError(Exception):
    """The server answered a frame with `error`."""

    def __init__(self, frame: Frame) -> None:
        super().__init__(f"{frame.get('code')}: {frame.get('message')}")
        self.frame = frame
        self.code: str = frame.get("code", "")
        self.retry_after: float | None = frame.get("retry_after")


def _http(method: str, url: str, body: Any = None, token: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else None


async def login(base_url: str, username: str, password: str) -> str:
    """Log in over HTTP; returns the bearer token."""
    answer = await asyncio.to_thread(
        _http, "POST", f"{base_url}/api/session", {"username": username, "password": password}
    )
    token: str = answer["token"]
    return token


class Client:
    """One `/ws` connection that keeps itself connected (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        reconnect: bool = True,
        backfill: bool = True,
        origin: str | None = None,
        max_size: int = 4 * 2**20,
        ssl: _ssl.SSLContext | None = None,
        keepalive: float | None = 20.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = "ws" + self.base_url.removeprefix("http") + "/ws"
        self.token = token
        self.reconnect = reconnect
        self.backfill = backfill
        self.origin = origin
        self.max_size = max_size
        # wss:// through a proxy with its own certificate; `keepalive`: a WebSocket ping this
        # often, the connection given up when its pong is as late (a black-holed path).
        self.ssl = ssl
        self.keepalive = keepalive
        self.hello: Frame | None = None
        self.events: dict[str, list[Frame]] = {}
        self.last_seq: dict[str, int] = {}
        self.rooms: dict[str, bool] = {}  # subscribed rooms (value: want resume)
        self.frames: list[Frame] = []
        self.duplicates: list[Frame] = []
        self.gaps: list[tuple[str, int, int]] = []
        self.close_codes: list[int | None] = []
        self.truncations: list[Frame] = []
        self.resets: list[Frame] = []  # `subscribed` with reset: our seqs ran past the room's
        # Rooms whose backlog is arriving; a jump there may be a truncation, judged at `subscribed`.
        self._loading: dict[str, list[tuple[str, int, int]]] = {}
        self.connects = 0
        # Why the latest reconnect attempts failed (an exception's name, or an HTTP status).
        self.failed_attempts: list[str] = []
        self._ws: ClientConnection | None = None
        self._refs = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[Frame]] = {}
        self._unacked: dict[str, tuple[Frame, asyncio.Future[Frame]]] = {}
        self._watchers: list[tuple[Callable[[Frame], bool], asyncio.Future[Frame]]] = []
        self._connected = asyncio.Event()
        self._closing = False
        self._runner: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- connection ---------------------------------------------------------------------

    async def _open(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        tls: dict[str, Any] = {"ssl": self.ssl} if self.ssl is not None else {}
        ws = await connect(
            self.ws_url,
            additional_headers=headers,
            origin=self.origin,  # type: ignore[arg-type]
            max_size=self.max_size,
            open_timeout=10,
            compression=None,
            ping_interval=self.keepalive,
            ping_timeout=self.keepalive,
            **tls,
        )
        raw = await asyncio.wait_for(ws.recv(), 10)
        hello = json.loads(str(raw).split("\n", 1)[0])
        if hello.get("type") != "hello":
            raise RuntimeError(f"expected hello, got {hello!r}")
        self.hello = hello
        self._ws = ws
        self.connects += 1
        for line in str(raw).split("\n")[1:]:
            if line.strip():
                self._on_frame(json.loads(line))

    async def connect(self) -> Frame:
        """Open the connection; returns `hello`. Raises `InvalidStatus` on 401/403."""
        await self._open()
        self._connected.set()
        self._runner = asyncio.create_task(self._run(), name="client-reader")
        self._pinger = asyncio.create_task(self._ping_loop(), name="client-pinger")
        assert self.hello is not None
        return self.hello

    async def close(self) -> None:
        self._closing = True
        for task in (self._pinger, self._runner):
            if task is not None:
                task.cancel()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        for task in (self._pinger, self._runner):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._fail_all(ConnectionError("client closed"))

    async def drop(self) -> None:
        """Cut the TCP connection without a close handshake (tests: a network failure)."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def _run(self) -> None:
        while not self._closing:
            ws = self._ws
            assert ws is not None
            try:
                async for raw in ws:
                    for line in str(raw).split("\n"):
                        if line.strip():
                            self._on_frame(json.loads(line))
            except ConnectionClosed:
                pass
            self.close_codes.append(ws.close_code)
            self._connected.clear()
            if self._closing or not self.reconnect:
                self._fail_all(ConnectionError(f"connection closed ({ws.close_code})"))
                return
            await self._reconnect()

    async def _reconnect(self) -> None:
        delay = BACKOFF_FIRST
        while not self._closing:
            try:
                await self._open()
            except InvalidStatus as exc:
                after = exc.response.headers.get("Retry-After")
                self._attempt_failed(f"HTTP {exc.response.status_code} Retry-After {after}")
                # Only a refusal of *us* is final; a 5xx (a server whose database is
                # restarting, a proxy without a backend) is tried again like any outage.
                if exc.response.status_code in (401, 403):
                    self._fail_all(ConnectionError("the server refused the connection"))
                    self._closing = True
                    return
                # An overloaded server (503) says when to come back: then, spread out.
                wait = _retry_after(exc)
                if wait is not None:
                    await asyncio.sleep(wait * random.uniform(0.5, 1.5))
                    continue
                await asyncio.sleep(random.uniform(0, delay))
                delay = min(delay * 2, BACKOFF_MAX)
                # Without this the loop fell through to "connected" on the old, closed
                # socket: its subscribes went nowhere and the next round began at once.
                continue
            # Any other failed handshake (a bad header, a cut during TLS, a hello that is not
            # JSON): a server starting or stopping; tried again, never the end of the loop.
            except (
                OSError,
                ConnectionClosed,
                TimeoutError,
                RuntimeError,
                InvalidHandshake,
                ValueError,
            ) as exc:
                self._attempt_failed(type(exc).__name__)
                await asyncio.sleep(random.uniform(0, delay))
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self._connected.set()
            # Replies to frames of the old connection will never come.
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("connection lost"))
            self._waiting.clear()
            for room in list(self.rooms):
                self._loading[room] = []
                await self._raw_send(self._subscribe_frame(room, self.last_seq.get(room)))
            for frame, _ in list(self._unacked.values()):
                await self._raw_send(frame)
            return

    def _attempt_failed(self, why: str) -> None:
        self.failed_attempts = [*self.failed_attempts[-19:], why]

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(PING_EVERY)
            with contextlib.suppress(Exception):
                await self._raw_send({"type": "ping"})

    async def _raw_send(self, frame: Frame) -> None:
        if self._ws is None:
            raise ConnectionError("not connected")
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps(frame))

    def _fail_all(self, exc: Exception) -> None:
        for fut in list(self._waiting.values()) + [f for _, f in self._unacked.values()]:
            if not fut.done():
                fut.set_exception(exc)
        self._waiting.clear()
        self._unacked.clear()

    # -- frames in ----------------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        kind = frame.get("type")
        room = frame.get("room")
        if "seq" in frame and isinstance(room, str) and kind not in ("ack", "read"):
            self._on_event(room, frame)
        elif kind == "subscribed" and isinstance(room, str):
            self._on_subscribed(room, frame)
        elif kind == "ack":
            pending = self._unacked.pop(str(frame.get("client_id")), None)
            if pending is not None and not pending[1].done():
                pending[1].set_result(frame)
        elif kind == "removed" and isinstance(room, str):
            self.rooms.pop(room, None)
        ref = frame.get("ref")
        if isinstance(ref, str):
            if ref.startswith("send:") and kind == "error":
                pending = self._unacked.pop(ref[5:], None)
                if pending is not None and not pending[1].done():
                    pending[1].set_exception(ClientError(frame))
            fut = self._waiting.pop(ref, None)
            if fut is not None and not fut.done():
                if kind == "error":
                    fut.set_exception(ClientError(frame))
                else:
                    fut.set_result(frame)
        for watcher in list(self._watchers):
            predicate, fut = watcher
            if not fut.done() and predicate(frame):
                fut.set_result(frame)
                self._watchers.remove(watcher)

    def _on_event(self, room: str, frame: Frame) -> None:
        seq = int(frame["seq"])
        last = self.last_seq.get(room)
        if last is not None and seq <= last:
            self.duplicates.append(frame)
            return
        if frame.get("type") == "restored" and last is not None:
            # The database was restored: seqs after `after` up to this one are not the
            # room's. What we hold past `after` is gone; this event follows on `after`.
            after = int(frame.get("after", seq - 1))
            if last > after:
                self.events[room] = [e for e in self.events.get(room, []) if e["seq"] <= after]
            if last >= after:
                last = seq - 1  # the jump over the skipped seqs is no gap
        if last is not None and seq != last + 1:
            if room in self._loading:
                self._loading[room].append((room, last, seq))
            else:
                self.gaps.append((room, last, seq))
        self.last_seq[room] = seq
        self.events.setdefault(room, []).append(frame)

    def _on_subscribed(self, room: str, frame: Frame) -> None:
        last = int(frame["last_seq"])
        jumps = self._loading.pop(room, [])
        if frame.get("truncated"):
            self.truncations.append(frame)
            first = int(frame["first_seq"])
            expected = [j for j in jumps if j[2] == first]
            jumps = [j for j in jumps if j[2] != first]
            if self.backfill and expected:
                after = expected[0][1]
                asyncio.get_running_loop().create_task(self._backfill(room, after, first))
        self.gaps.extend(jumps)
        if frame.get("reset"):
            # What we had after `last` is gone from the server (a restore): forget it.
            self.resets.append(frame)
            self.events[room] = [e for e in self.events.get(room, []) if e["seq"] <= last]
            self.last_seq[room] = last
        if self.last_seq.get(room) is None or last > self.last_seq[room]:
            self.last_seq[room] = last

    async def _backfill(self, room: str, after: int, first: int) -> None:
        """Fetch seqs after+1 … first-1 over HTTP and put them before the backlog."""
        got: list[Frame] = []
        while after < first - 1:
            limit = min(1000, first - 1 - after)
            page = await asyncio.to_thread(
                _http,
                "GET",
                f"{self.base_url}/api/rooms/{room}/events?after={after}&limit={limit}",
                None,
                self.token,
            )
            events = [e for e in page["events"] if e["seq"] < first]
            if not events:
                break
            got.extend(events)
            after = events[-1]["seq"]
        have = self.events.setdefault(room, [])
        at = next((i for i, e in enumerate(have) if e["seq"] >= first), len(have))
        have[at:at] = got

    # -- requests -----------------------------------------------------------------------

    async def request(self, frame: Frame, timeout: float = 10) -> Frame:
        """Send a frame with a fresh `ref`; returns the reply (raises ClientError for error)."""
        ref = frame.get("ref") or f"r{next(self._refs)}"
        frame = {**frame, "ref": ref}
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = fut
        await self._raw_send(frame)
        return await asyncio.wait_for(fut, timeout)

    def _subscribe_frame(self, room: str, since: int | None) -> Frame:
        return {"type": "subscribe", "room": room, "since": since}

    async def subscribe(self, room: str, since: Any = _AUTO, timeout: float = 30) -> Frame:
        """Subscribe; `since` defaults to the last seq seen (None: from now)."""
        start = self.last_seq.get(room) if since is _AUTO else since
        if start is not None:
            self.last_seq[room] = start
        else:
            self.last_seq.pop(room, None)
        self.rooms[room] = True
        self._loading[room] = []
        return await self.request(self._subscribe_frame(room, start), timeout)

    async def unsubscribe(self, room: str) -> None:
        self.rooms.pop(room, None)
        await self._raw_send({"type": "unsubscribe", "room": room})

    async def send(
        self,
        room: str,
        body: str,
        client_id: str | None = None,
        reply_to: int | None = None,
        timeout: float = 30,
        files: list[int] | None = None,
        topic: str | None = None,
    ) -> Frame:
        """Post a message; returns its `ack`, resending with the same client_id after reconnects."""
        client_id = client_id or uuid.uuid4().hex
        frame: Frame = {
            "type": "send",
            "room": room,
            "body": body,
            "client_id": client_id,
            "ref": f"send:{client_id}",
        }
        if reply_to is not None:
            frame["reply_to"] = reply_to
        if files:
            frame["files"] = files
        if topic is not None:
            frame["topic"] = topic
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._unacked[client_id] = (frame, fut)
        if self._connected.is_set():
            await self._raw_send(frame)
        return await asyncio.wait_for(fut, timeout)

    async def edit(self, room: str, message_id: int, body: str) -> None:
        await self._raw_send({"type": "edit", "room": room, "message_id": message_id, "body": body})

    async def retract(self, room: str, message_id: int) -> None:
        await self._raw_send({"type": "retract", "room": room, "message_id": message_id})

    async def react(self, room: str, message_id: int, emoji: str, on: bool = True) -> None:
        """Add (or with `on=False` remove) a reaction; the room's `reactions` event confirms."""
        frame = {"type": "react", "room": room, "message_id": message_id, "emoji": emoji, "on": on}
        await self._raw_send(frame)

    async def typing(self, room: str) -> None:
        await self._raw_send({"type": "typing", "room": room})

    async def read(self, room: str, seq: int) -> None:
        await self._raw_send({"type": "read", "room": room, "seq": seq})

    async def ping(self, timeout: float = 10) -> Frame:
        return await self.request({"type": "ping"}, timeout)

    async def wait_for(self, predicate: Callable[[Frame], bool], timeout: float = 10) -> Frame:
        """The first frame (already received or still to come) that matches."""
        for frame in self.frames:
            if predicate(frame):
                return frame
        return await self.next_frame(predicate, timeout)

    async def next_frame(self, predicate: Callable[[Frame], bool], timeout: float = 10) -> Frame:
        """The next frame from now on that matches."""
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._watchers.append((predicate, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            with contextlib.suppress(ValueError):
                self._watchers.remove((predicate, fut))

    async def wait_seq(self, room: str, seq: int, timeout: float = 20) -> None:
        """Wait until every event up to `seq` of the room has arrived."""
        async with asyncio.timeout(timeout):
            while self.last_seq.get(room, -1) < seq:
                await asyncio.sleep(0.01)

    async def connected(self, timeout: float = 20) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)


def _retry_after(refused: InvalidStatus) -> float | None:
    """The seconds of a refusal's `Retry-After` header (capped at a minute), or None."""
    value = refused.response.headers.get("Retry-After", "")
    try:
        return min(60.0, max(0.0, float(value)))
    except ValueError:
        return None

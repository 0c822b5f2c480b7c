"""Every use of a dependency's undocumented internals, in one place, pinned and checked.

Only uvicorn's internals are relied on; everything else the project uses of its
dependencies is documented interface. Checked against (uv.lock):

    uvicorn 0.55.0 (a later 0.55.x passes; pyproject.toml caps the range below 0.56)

What is relied on, and why:
- `WebSocketsSansIOProtocol` (uvicorn.protocols.websockets.websockets_sansio_impl):
  - `handle_connect` sets `scope` and creates the task in which `run_asgi` runs the app
    with it: `SansIOProtocol` then puts itself (a weak reference) in the scope's
    `extensions`, so that `/ws` finds the protocol behind its WebSocket without walking
    Starlette's closures;
  - the names of its instance state (`SANSIO_STATE`), which `SansIOProtocol` declares as
    slots (memory per idle connection);
  - its state, set in `__init__`: `conn` (websockets' `ServerProtocol`), `transport`,
    `writable` (an Event cleared while the transport is paused), `close_sent`,
    `disconnected`, `handshake_complete`, `read_paused`, `close_timer`, `close_timeout`,
    `loop`, and `queue`, of which uvicorn uses only `put_nowait`, `get` and `empty`
    (and of `writable` only `set`, `clear`, `is_set` and `wait`):
    `SansIODirect` writes frames straight to the transport when uvicorn's own `send`
    would write them at once (the real-time fan-out's fast path) and swaps the queue for
    a smaller `Inbox` and `writable` for a smaller `Gate`; it drops `request` and
    `response` (set in `handle_connect`, read only up to the accept), emptying the
    request's headers; `abort` aborts the transport (ASGI has no abort); `receiver`
    hands `/ws` the protocol's `receive`, the ASGI `receive` uvicorn passes to the app;
  - `handle_parser_exception` is called when the client breaks the protocol:
    `fail_without_reset` replaces it (web/wsclose.py);
  - the keepalive: `send` calls `start_keepalive` at the accept, `connection_lost` and
    `shutdown` call `stop_keepalive`; `SansIOProtocol` replaces both to time its pings on
    one wheel (no timer handle per connection), sets `pending_ping_payload` and
    `ping_sent_at` as uvicorn's own ping does, so that `handle_pong` clears an answered
    ping (and, its `pong_timer` being None, schedules nothing), and calls
    `keepalive_timeout` (close 1011) for an unanswered one.
- `HttpToolsProtocol` (uvicorn.protocols.http.httptools_impl): web/guard.py overrides
  `connection_made`, `connection_lost`, httptools' parser callbacks `on_message_begin`,
  `on_headers_complete`, `on_message_complete`, and `handle_websocket_upgrade`, and adds
  attributes of its own, which must not be uvicorn's; at the upgrade it reads `app_state`
  (the lifespan's state, where the app offers its set-up gate) and
  `server_state.default_headers` (as uvicorn's own error answers do).
- Not private: Starlette (the ASGI scope only), websockets (its documented Sans-I/O
  `ServerProtocol`: `state`, `extensions`, `close_sent`, `data_to_send`), SQLAlchemy
  (persistence/prepared.py: `compiled.positiontup`, `compiled.binds`,
  `selected_columns`, `TypeEngine.dialect_impl`, `bind_processor`, `result_processor`).
  Their versions are named here because they were checked together.

Why one module in `web`: with the SQLAlchemy pieces replaced by documented interface,
only uvicorn's remain, and `persistence` must not import uvicorn; so nothing private is
left for `persistence`, and the layering holds.

On import the installed uvicorn must be of the checked minor release (a patch release
newer than the one checked is accepted) and each class must still have what is relied on;
otherwise `InternalsChanged`, naming the attribute and the version, is raised and the
server does not start, rather than run on a guess or silently take a slower path.
tests/web/test_internals.py exercises each reliance through a real server; the upgrade
procedure is in docs/internals.md.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import re
import struct
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import uvicorn
from starlette.types import Message
from starlette.websockets import WebSocket
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import OPEN as WS_OPEN

from chat.clock import SYSTEM_CLOCK
from chat.timerwheel import TimerWheel

__all__ = [
    "CHECKED",
    "Gate",
    "HttpToolsProtocol",
    "InternalsChanged",
    "SansIODirect",
    "SansIOProtocol",
    "abort",
    "check_subclass",
    "direct_writer",
    "fail_without_reset",
    "receiver",
    "text_frame",
]

# The release whose internals this module was checked against; a later patch release of
# it passes, another minor release is refused. pyproject.toml caps uvicorn's range to match,
# so `make lock` cannot move past it by accident. Starlette, websockets and SQLAlchemy are
# used through documented interfaces only.
CHECKED = {"uvicorn": "0.55.0"}

# The key of the scope's `extensions` under which `SansIOProtocol` offers itself.
EXTENSION = "werkplaats.sansio"


class InternalsChanged(RuntimeError):
    """A dependency no longer has (in this version) what this module relies on."""


def version_tuple(version: str) -> tuple[int, ...]:
    """The leading numbers of a version: "0.56.0rc1" -> (0, 56, 0)."""
    numbers: list[int] = []
    for part in version.split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        numbers.append(int(digits.group()))
        if digits.end() != len(part):
            break
    return tuple(numbers)


def check_version(name: str, installed: str) -> None:
    """Raise unless `installed` is the checked version of `name` or a later patch of it."""
    checked = version_tuple(CHECKED[name])
    if not checked <= version_tuple(installed) < (checked[0], checked[1] + 1):
        raise InternalsChanged(
            f"{name} {installed} is not a version web/internals.py was checked against "
            f"({CHECKED[name]}, or a later {checked[0]}.{checked[1]}.x): see docs/internals.md"
        )


# (class, method, names the method must still use): the state and calls relied on.
RELIED: list[tuple[type, str, tuple[str, ...]]] = [
    (
        WebSocketsSansIOProtocol,
        "__init__",
        (
            "conn",
            "queue",
            "transport",
            "writable",
            "close_sent",
            "disconnected",
            "handshake_complete",
            "read_paused",
            "close_timer",
            "close_timeout",
            "loop",
        ),
    ),
    (WebSocketsSansIOProtocol, "handle_connect", ("request", "response", "scope", "run_asgi")),
    (WebSocketsSansIOProtocol, "run_asgi", ("app", "scope")),
    (WebSocketsSansIOProtocol, "receive", ("queue", "get", "empty")),
    (WebSocketsSansIOProtocol, "data_received", ("handle_parser_exception",)),
    (WebSocketsSansIOProtocol, "handle_parser_exception", ("close_sent", "queue")),
    (
        WebSocketsSansIOProtocol,
        "connection_lost",
        ("close_timer", "disconnected", "stop_keepalive"),
    ),
    (WebSocketsSansIOProtocol, "shutdown", ("stop_keepalive",)),
    (WebSocketsSansIOProtocol, "send", ("start_keepalive",)),
    (WebSocketsSansIOProtocol, "start_keepalive", ("ping_interval",)),
    (WebSocketsSansIOProtocol, "stop_keepalive", ("pending_ping_payload",)),
    (
        WebSocketsSansIOProtocol,
        "handle_pong",
        ("pending_ping_payload", "ping_sent_at", "pong_timer"),
    ),
    (
        WebSocketsSansIOProtocol,
        "keepalive_timeout",
        ("conn", "fail", "close_sent", "transport", "close"),
    ),
    (HttpToolsProtocol, "connection_made", ("transport",)),
    (HttpToolsProtocol, "connection_lost", ()),
    (HttpToolsProtocol, "data_received", ("handle_websocket_upgrade",)),
    (HttpToolsProtocol, "on_message_begin", ()),
    (HttpToolsProtocol, "on_url", ("url",)),
    (HttpToolsProtocol, "on_headers_complete", ()),
    (HttpToolsProtocol, "on_body", ()),
    (HttpToolsProtocol, "on_message_complete", ()),
    (HttpToolsProtocol, "handle_websocket_upgrade", ("transport", "app_state", "server_state")),
]


def check_uses(cls: type, method: str, names: Iterable[str], version: str) -> None:
    """Raise unless `cls.method` exists and still uses each of `names`."""
    code = getattr(getattr(cls, method, None), "__code__", None)
    if code is None:
        raise InternalsChanged(
            f"uvicorn {version}: {cls.__name__}.{method} is gone "
            f"(checked against {CHECKED['uvicorn']}): see docs/internals.md"
        )
    missing = [name for name in names if name not in code.co_names]
    if missing:
        raise InternalsChanged(
            f"uvicorn {version}: {cls.__name__}.{method} no longer uses {', '.join(missing)} "
            f"(checked against {CHECKED['uvicorn']}): see docs/internals.md"
        )


def check_subclass(cls: type, version: str = uvicorn.__version__) -> None:
    """Raise if a subclass of ours defines a name its uvicorn base has, other than the
    methods it overrides on purpose (those in `RELIED`): an upgrade adding such a name
    would have the two step on each other's state."""
    base = next(b for b in cls.__mro__[1:] if b.__module__.startswith("uvicorn."))
    hooks = {method for owner, method, _ in RELIED if owner is base}
    # Slots that hold uvicorn's own state (`SANSIO_STATE`) are its attributes on purpose.
    hooks |= set(SANSIO_STATE) & set(getattr(cls, "__slots__", ()))
    init = getattr(cls.__dict__.get("__init__"), "__code__", None)
    ours = {name for name in cls.__dict__ if not name.startswith("__")}
    ours |= {name for name in (init.co_names if init else ()) if name.startswith("_")}
    theirs = set(dir(base)) | set(base.__dict__["__init__"].__code__.co_names)
    clash = sorted(name for name in ours - hooks if name in theirs and not name.startswith("__"))
    if clash:
        raise InternalsChanged(
            f"uvicorn {version}: {base.__name__} now has {', '.join(clash)}, which "
            f"{cls.__module__}.{cls.__name__} defines too: see docs/internals.md"
        )


def check(version: str = uvicorn.__version__) -> None:
    """Everything relied on is there in the installed uvicorn; else `InternalsChanged`."""
    check_version("uvicorn", version)
    for cls, method, names in RELIED:
        check_uses(cls, method, names, version)
    if not inspect.iscoroutinefunction(WebSocketsSansIOProtocol.run_asgi):
        raise InternalsChanged(f"uvicorn {version}: run_asgi is no longer a coroutine")


check()


# The state uvicorn's `WebSocketsSansIOProtocol` keeps on each instance (set in `__init__`
# and `handle_connect`). `SansIOProtocol` declares it as slots, which take the assignments
# uvicorn makes: its 37 attributes are more than an instance dict can share its keys for,
# so each connection had a dict of its own (~1.3 KiB). A name uvicorn adds later lands in
# an instance dict again (tests/web/test_internals.py asserts there is none).
SANSIO_STATE = (
    "config",
    "app",
    "loop",
    "logger",
    "root_path",
    "asgi_version",
    "app_state",
    "connections",
    "tasks",
    "default_headers",
    "transport",
    "server",
    "client",
    "scheme",
    "queue",
    "handshake_initiated",
    "handshake_complete",
    "close_sent",
    "disconnected",
    "close_timer",
    "close_timeout",
    "initial_response",
    "conn",
    "read_paused",
    "writable",
    "ping_interval",
    "ping_timeout",
    "ping_timer",
    "pong_timer",
    "pending_ping_payload",
    "ping_sent_at",
    "last_ping_rtt",
    "frames",
    "curr_msg_data_type",
    "request",
    "response",
    "scope",
)


class SansIOProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol, its state in slots, that offers itself to the app in
    the scope's `extensions` (by weak reference: the scope creates no cycle through it),
    its keepalive pings timed by one wheel for all connections.

    The keepalive does what uvicorn's does (a ping every `ws_ping_interval`, close 1011
    when one is not answered within `ws_ping_timeout`), to the second, without a timer
    handle per connection (~0.5 KiB each): uvicorn's `handle_pong` clears the ping it
    answers, and its `keepalive_timeout` fails the connection.
    """

    __slots__ = (*SANSIO_STATE, "wheel_slot")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.wheel_slot: int | None = None
        super().__init__(*args, **kwargs)

    def start_keepalive(self) -> None:
        interval = self.ping_interval
        if interval is not None and interval > 0:
            keepalive_wheel().add(self, SYSTEM_CLOCK.now() + interval)

    def stop_keepalive(self) -> None:
        if self.wheel_slot is not None:
            keepalive_wheel().remove(self)
        self.pending_ping_payload = None

    def due(self, now: float) -> float | None:
        """The keepalive wheel's visit: 1011 for a ping unanswered too long, else the next
        ping when it is time; when to come back."""
        if self.close_sent or self.transport.is_closing():
            return None
        interval, timeout = self.ping_interval, self.ping_timeout
        assert interval is not None
        since = self.loop.time() - self.ping_sent_at
        if self.pending_ping_payload is not None and timeout is not None:
            if since >= timeout:
                self.keepalive_timeout()
                return None
            return now + timeout - since
        if since < interval:
            return now + interval - since
        self.pending_ping_payload = struct.pack("!I", random.getrandbits(32))
        self.ping_sent_at = self.loop.time()
        self.conn.send_ping(self.pending_ping_payload)
        self.transport.write(b"".join(self.conn.data_to_send()))
        return now + (interval if timeout is None else min(interval, timeout))

    def handle_connect(self, event: Request) -> None:
        # The app's task is created here but runs later, so the scope can still be added to.
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][EXTENSION] = {"protocol": weakref.ref(self)}


check_subclass(SansIOProtocol)


class _Keepalive:
    """The keepalive wheel of the running event loop (tests run several loops in turn)."""

    __slots__ = ("loop", "wheel")

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wheel = TimerWheel(SYSTEM_CLOCK)


_keepalive = _Keepalive()


def keepalive_wheel() -> TimerWheel:
    """The wheel that times the keepalive pings of this event loop's connections."""
    loop = asyncio.get_running_loop()
    if _keepalive.loop is not loop:
        _keepalive.loop, _keepalive.wheel = loop, TimerWheel(SYSTEM_CLOCK)
    return _keepalive.wheel


def protocol_of(websocket: WebSocket) -> WebSocketsSansIOProtocol | None:
    """The protocol serving `websocket`, if it is a `SansIOProtocol`; else None."""
    offered: Any = websocket.scope.get("extensions", {}).get(EXTENSION)
    if offered is None:
        return None
    proto: WebSocketsSansIOProtocol | None = offered["protocol"]()
    return proto


def receiver(websocket: WebSocket) -> Callable[[], Awaitable[Message]]:
    """The ASGI `receive` of `websocket` itself when the protocol is known (the protocol's
    `receive`, which uvicorn passed to the app), else Starlette's: one coroutine less that
    each open connection's reader waits in."""
    proto = protocol_of(websocket)
    if proto is None:
        return websocket.receive
    return proto.receive  # type: ignore[return-value]


def abort(websocket: WebSocket) -> None:
    """Drop the TCP connection (ASGI has no abort), when the protocol is known."""
    proto = protocol_of(websocket)
    if proto is not None:
        proto.transport.abort()


def client_gone(websocket: WebSocket) -> bool:
    """Whether the client already closed or lost the connection (its end came in while
    the upgrade waited); False when the protocol is not known."""
    proto = protocol_of(websocket)
    return proto is not None and proto.transport.is_closing()


def direct_writer(websocket: WebSocket) -> SansIODirect | None:
    """The direct writer of `websocket` when a `SansIOProtocol` without compression serves
    it; else None (the ASGI `send` path)."""
    proto = protocol_of(websocket)
    if proto is None or proto.conn.extensions:
        return None
    return SansIODirect(proto)


class SansIODirect:
    """The `chat.outbound.DirectWriter` of uvicorn's `WebSocketsSansIOProtocol`.

    A server frame is unmasked, so its bytes are the same for every recipient: they are
    built once per text (see `text_frame`) and written to the transport, skipping the
    ASGI `send` chain. Uvicorn's own state stays right: outside fragmentation (which we
    never use) and compression (off, checked) its `send` does exactly this, and `ready`
    holds back whenever it would refuse or wait: the close handshake begun by either side,
    a lost connection, a paused transport (flow control; the queue takes over).
    """

    __slots__ = ("proto",)

    def __init__(self, proto: WebSocketsSansIOProtocol) -> None:
        self.proto = proto
        # Uvicorn keeps the handshake's request and response (headers, ~4 KiB) for the
        # connection's lifetime, but reads them only up to the accept, which is past.
        if proto.handshake_complete:
            # websockets' parser generator keeps the request in a local for good: emptying
            # its headers frees them (~1.5 KiB) where dropping our reference alone does not.
            if proto.request is not None:
                proto.request.headers.clear()
            proto.request = None  # type: ignore[assignment]
            proto.response = None  # type: ignore[assignment]
        # Its receive queue is an asyncio.Queue: four deques and an Event, ~3 KiB on each
        # idle connection. An `Inbox` does what uvicorn asks of it in ~0.2 KiB. Nobody
        # waits on the old one: its one reader is the endpoint's task, which is here.
        # Likewise its `writable` Event (a deque of waiters each, ~0.7 KiB): a `Gate`
        # does set, clear, is_set and wait, making a waiter's future only when one waits.
        writable = proto.writable
        if isinstance(writable, asyncio.Event):
            proto.writable = Gate(writable.is_set())  # type: ignore[assignment]
        queue = proto.queue
        if isinstance(queue, asyncio.Queue):
            items = []
            while not queue.empty():
                items.append(queue.get_nowait())
            proto.queue = Inbox(items)  # type: ignore[assignment]

    def ready(self) -> bool:
        proto = self.proto
        return (
            proto.writable.is_set()
            and not proto.close_sent
            and not proto.disconnected
            and proto.conn.state is WS_OPEN
            and not proto.transport.is_closing()
        )

    def write_text(self, data: str) -> None:
        self.proto.transport.write(text_frame(data))


class Gate:
    """What uvicorn's sans-I/O protocol uses of its `writable` Event (`set`, `clear`,
    `is_set`, `wait`), with no deque of waiters until one waits (a paused transport)."""

    __slots__ = ("open", "waiters")

    def __init__(self, open_: bool) -> None:
        self.open = open_
        self.waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self.open

    def set(self) -> None:
        self.open = True
        waiters, self.waiters = self.waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.open = False

    async def wait(self) -> bool:
        if self.open:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self.waiters is None:
            self.waiters = []
        self.waiters.append(waiter)
        await waiter
        return True


class Inbox:
    """What uvicorn's sans-I/O protocol uses of its receive queue (`put_nowait`, `get`,
    `empty`), with one reader (the endpoint's task) and no bound (uvicorn pauses reading
    the socket itself while a message waits). `get` hands out a future, not a coroutine:
    the reader of an idle connection waits on one object, not on one more frame."""

    __slots__ = ("items", "waiter")

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.waiter: asyncio.Future[Any] | None = None

    def put_nowait(self, item: Any) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():  # done: its reader was cancelled
                waiter.set_result(item)
                return
        self.items.append(item)

    def get(self) -> asyncio.Future[Any]:
        got: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.items:
            got.set_result(self.items.pop(0))
        else:
            self.waiter = got
        return got

    def empty(self) -> bool:
        return not self.items

    def qsize(self) -> int:
        return len(self.items)


class _LastFrame:
    """The last text framed, with its bytes: a fan-out frames each event once."""

    __slots__ = ("data", "text")

    def __init__(self) -> None:
        self.text: str | None = None
        self.data = b""


_last_frame = _LastFrame()


def text_frame(text: str) -> bytes:
    """The bytes of one unmasked, final WebSocket text frame (RFC 6455 section 5.2)."""
    last = _last_frame
    # Identity, not equality: the fan-out offers the same str object to every recipient,
    # and a different object of equal text costs a comparison as long as the encoding.
    if last.text is text:
        return last.data
    payload = text.encode()
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    last.text = text
    last.data = head + payload
    return last.data


def fail_without_reset(proto: WebSocketsSansIOProtocol) -> None:
    """Fail the connection as RFC 6455 section 7.1.7 says: the close frame websockets
    queued, a half-close, then read and discard until the client's FIN (or
    `close_timeout`) before closing the socket (see web/wsclose.py)."""
    close = proto.conn.close_sent
    assert close is not None
    proto.queue.put_nowait(
        {"type": "websocket.disconnect", "code": close.code, "reason": close.reason}
    )
    transport = proto.transport
    transport.write(b"".join(proto.conn.data_to_send()))
    proto.close_sent = True
    if not transport.can_write_eof():
        transport.close()
        return
    transport.write_eof()
    if proto.read_paused:
        proto.read_paused = False
        transport.resume_reading()
    # The client's FIN ends it sooner: `eof_received` returns None, so the transport
    # closes itself; `connection_lost` cancels this timer.
    proto.close_timer = proto.loop.call_later(proto.close_timeout, transport.close)

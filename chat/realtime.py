"""The real-time hub of one server process: connections, room hubs, broker and presence.

The HTTP side calls four methods, always *after* its transaction has committed:
- `publish_event(room, event)`: a room event (with its `seq`) was committed; deliver it
  to the room's subscribers in every process (moderation: `message_hidden`, topic, …).
- `access_revoked(room, user_id, reason)`: the user may no longer read the room (ban);
  every connection of that user, in every process, gets `removed` at once and no further
  frame of that room.
- `access_changed(changes)`: someone may have lost access (role, archive, disabled
  account, …; the transaction recorded it with `persistence.access_changes.record`): every
  process re-checks the affected connections (chat/access_watch.py), which also happens,
  for changes made elsewhere (a CLI command without Redis), by polling the database's
  access version every second.
- `session_revoked(user_id, token_hash)`: logout; the connections that this session
  authenticated are closed with 1008 in every process. `token_hash="*"` closes all of
  the user's connections (every session revoked).
- `ready()`: for /readyz, whether the broker answers.
Besides: `start`/`stop` (lifespan; a CLI command may also start one to notify running
servers), and what `/ws` connections use: `register`, `unregister`, `hub`, `detach`,
`joined`, `typing`, `read_moved`, and `sends` (the process's group commit of `send`s).

Delivery works as docs/realtime.md explains: the process that commits an event hands it
to its own room hub at once and publishes it on the broker (`<prefix>:room:<slug>`);
every hub orders what it gets by seq and fills gaps from the database. Access and
session changes travel on `<prefix>:control`. Broker messages are at-most-once, so after
an outage every hub catches up from the database and every connection's session and
rooms are checked again; while the broker is down, the database is polled every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Collection, Coroutine, Set
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import msgspec

from chat import frames, metrics, outbound, reads
from chat.access_watch import AccessWatch
from chat.activity import ActivityFeed, Note
from chat.broker import Broker, BrokerListener, MemoryBroker, broker_for
from chat.clock import SYSTEM_CLOCK, Clock
from chat.coalesce import SharedNextRead
from chat.config import ChatConfig
from chat.groupcommit import GroupCommit
from chat.hub import RoomHub, Subscription
from chat.notify import NO_NOTIFIER, Notifier
from chat.outbound import CLOSE_GOING_AWAY, CLOSE_POLICY, Flusher
from chat.ports import Conn
from chat.presence import MemoryPresence, Presence, RedisPresence
from chat.timerwheel import TimerWheel
from persistence.access_changes import AccessChange
from persistence.db import Database
from persistence.events import StoredEvent
from persistence.mentions import mentioned_after_commit
from rooms.mentions import mentioned_usernames

log = logging.getLogger("werkplaats.realtime")
T = TypeVar("T")

# While the broker is down the database is the only source: poll it this often.
POLL_DOWN = 1.0
# A safety net while it is up (a publish that failed, a message Redis dropped).
POLL_UP = 5.0
# A hub without subscribers keeps its broker subscription this long (saves churn).
HUB_LINGER = 10.0
# Presence changes are coalesced for at least this long before the list is read and pushed.
PRESENCE_DEBOUNCE = 0.05
# A push costs subscribers × names: in a join storm of n users, pushing every change would
# send O(n²). Pushes in a room are spaced so that it sends at most this many names a second
# (a 500-name list to 500 subscribers: one push every 2.5 s), and never more than
# PRESENCE_MAX_WAIT apart; a small room still sees a change within PRESENCE_DEBOUNCE.
# 30 s: a room of 10,000 online pushed every 3 s sent ~450 MB a push and process in W5-herd10.
PRESENCE_NAMES_PER_S = 100_000
PRESENCE_MAX_WAIT = 30.0
# Joiners' reads of a list this short are not spaced (a millisecond's worth of names).
PRESENCE_UNSPACED_NAMES = 100
SHUTDOWN_GRACE = 3.0
# Sessions expire and revocations may be lost with a broker outage: every open connection's
# session is checked again this often (one query for all of them).
SESSION_SWEEP = 60.0

EVENT, TYPING, PRESENCE = b"e", b"t", b"p"


def envelope(kind: bytes, origin: str, number: int, payload: str) -> bytes:
    """A room-channel message: kind, origin process, seq (or user id), then the frame."""
    return b"%s %s %d " % (kind, origin.encode(), number) + payload.encode()


def open_envelope(data: bytes) -> tuple[bytes, str, int, str]:
    kind, origin, number, payload = data.split(b" ", 3)
    return kind, origin.decode(), int(number), payload.decode()


class Control(msgspec.Struct, kw_only=True):
    op: str
    origin: str
    user_id: int
    room: str = ""
    reason: str = ""
    token_hash: str = ""
    seq: int = 0
    frame: str = ""
    changes: list[AccessChange] = []


class Realtime(BrokerListener):
    """Delivers committed room events and access changes to open connections."""

    def __init__(
        self,
        config: ChatConfig,
        db: Database,
        broker: Broker | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.clock = clock
        self.db = db
        self.process_id = secrets.token_hex(6)
        self.broker = (
            broker
            if broker is not None
            else broker_for(config.redis_url, config.redis_health_seconds)
        )
        self.broker.listener = self
        self.prefix = config.redis_prefix
        self.presence: Presence
        redis = getattr(self.broker, "redis", None)
        if redis is not None:
            self.presence = RedisPresence(
                redis, self.prefix, self.process_id, config.presence_ttl_seconds
            )
        else:
            self.presence = MemoryPresence()
        self.sends = GroupCommit(db)
        self.flusher = Flusher(config.ws_fanout_linger_seconds)
        # Pushes and e-mails; the web app sets its own (web.notify) before `start`.
        self.notifier: Notifier = NO_NOTIFIER
        self.hubs: dict[str, RoomHub] = {}
        self.connections: dict[int, Conn] = {}
        self.by_user: dict[int, set[Conn]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stack = AsyncExitStack()
        self._watcher: asyncio.Task[None] | None = None
        self._presence_due: set[str] = set()
        # Rooms whose presence change is yet to be told to the other processes.
        self._presence_notice_due: set[str] = set()
        # Per room, the presence read that joiners share (`_read_for_joiners`).
        self._joiners: SharedNextRead[str, None, str] = SharedNextRead(
            self._read_for_joiners,
            name="presence-joiners",
            pause=self._joiners_pause,
            spawn=self._spawn,
        )
        # Per room, when the last read for joiners began and how many names it found.
        self._joiners_read: dict[str, tuple[float, int]] = {}
        self._stopping = False
        self.access = AccessWatch(self)
        self.activity = ActivityFeed(self)
        # This turn's message notes, published to the other processes as one broker message.
        self._notes_out: list[Note] = []
        # The connections' idle and session deadlines (web/ws.py), on one timer.
        self.timers = TimerWheel(clock)

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.connect()
        await self._stack.enter_async_context(
            self.broker.subscribe(self.control_channel, self._on_control)
        )
        await self._stack.enter_async_context(
            self.broker.subscribe(self.activity_channel, self._on_activity)
        )
        await self.access.start()
        self._watcher = asyncio.create_task(self._watch(), name="realtime-watch")
        metrics.BROKER_UP.set(1 if self.broker.healthy else 0)

    async def stop(self) -> None:
        """Close every connection (1001), then the hubs, presence and broker."""
        self._stopping = True
        for conn in list(self.connections.values()):
            conn.close(CLOSE_GOING_AWAY, "server shutting down")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_GRACE):
                while self.connections:  # noqa: ASYNC110 - connections end in their own tasks
                    await asyncio.sleep(0.02)
        await self.sends.close()
        await self.activity.stop()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for hub in list(self.hubs.values()):
            await hub.close()
        self.hubs.clear()
        await self.presence.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_GRACE):
                await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()
        await self.broker.close()
        self.timers.close()

    async def ready(self) -> bool:
        if isinstance(self.broker, MemoryBroker):
            return True
        return await self.broker.ping()

    # -- the HTTP side's interface ----------------------------------------------------

    async def publish_event(self, room: str, event: StoredEvent) -> None:
        """A room event was committed; deliver it to the room's subscribers everywhere."""
        seq = event.seq
        text = frames.encode(frames.event_frame(room, event))
        hub = self.hubs.get(room)
        if hub is not None:
            hub.receive(seq, text)
        self._publish(self.room_channel(room), envelope(EVENT, self.process_id, seq, text))
        if event.type == "message" and event.author is not None and not event.hidden:
            self._message_activity(room, event)

    def _message_activity(self, room: str, event: StoredEvent) -> None:
        """The readers who are not subscribed hear of the message (`activity`, chat/activity.py)."""
        assert event.author is not None
        note = Note(
            origin=self.process_id,
            room=room,
            seq=event.seq,
            author=event.author.username,
            mentions=mentioned_usernames(event.body or ""),
        )
        self.activity.add(note)
        if not self._notes_out:
            asyncio.get_running_loop().call_soon(self._publish_notes)
        self._notes_out.append(note)

    def _publish_notes(self) -> None:
        notes, self._notes_out = self._notes_out, []
        self._publish(self.activity_channel, msgspec.json.encode(notes))

    async def access_revoked(self, room: str, user_id: int, reason: str) -> None:
        """The user may no longer read the room: `removed` on all their connections."""
        self._revoked(room, user_id, reason)
        self._control(
            Control(op="revoke", origin=self.process_id, user_id=user_id, room=room, reason=reason)
        )

    async def access_changed(self, changes: list[AccessChange]) -> None:
        """Someone may have lost access: re-check the affected connections everywhere."""
        if not changes:
            return
        self._spawn(self._recheck(changes), "access-recheck")
        self._control(
            Control(op="access", origin=self.process_id, user_id=0, changes=list(changes))
        )

    async def _recheck(self, changes: list[AccessChange]) -> None:
        try:
            await self.access.recheck(changes)
        except Exception:
            # The database poll re-checks the same changes within a second.
            log.exception("realtime: re-checking access failed")

    async def session_revoked(self, user_id: int, token_hash: str) -> None:
        """A session ended: close the connections that it authenticated ("*": all)."""
        self._session_ended(user_id, token_hash)
        self._control(
            Control(op="session", origin=self.process_id, user_id=user_id, token_hash=token_hash)
        )

    # -- channels and broker messages -------------------------------------------------

    @property
    def control_channel(self) -> str:
        return f"{self.prefix}:control"

    @property
    def activity_channel(self) -> str:
        return f"{self.prefix}:activity"

    def room_channel(self, room: str) -> str:
        return f"{self.prefix}:room:{room}"

    def _spawn(self, job: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(job, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _publish(self, channel: str, data: bytes) -> None:
        # Every handler of this process ignores its own messages, or (room events) has
        # them already: with no other process to hear, a task a send saved.
        if self.broker.shared:
            self._spawn(self._publish_now(channel, data), "publish")

    async def _publish_now(self, channel: str, data: bytes) -> None:
        try:
            await self.broker.publish(channel, data)
        except Exception as exc:
            # Other processes find the event in the database (poll, reconnect catch-up).
            # While the broker is known to be down this is expected: no log line per event.
            level = logging.WARNING if self.broker.healthy else logging.DEBUG
            log.log(level, "realtime: publish on %s failed: %r", channel, exc)

    def _control(self, message: Control) -> None:
        self._publish(self.control_channel, msgspec.json.encode(message))

    def _on_room(self, room: str, data: bytes) -> None:
        try:
            kind, origin, number, payload = open_envelope(data)
        except ValueError:
            log.warning("realtime: malformed message on room %s", room)
            return
        hub = self.hubs.get(room)
        if hub is None:
            return
        if kind == EVENT:
            hub.receive(number, payload)
        elif origin == self.process_id:
            return
        elif kind == TYPING:
            self._typing_local(hub, number, payload)
        elif kind == PRESENCE:
            self._presence_soon(room)

    def _on_control(self, data: bytes) -> None:
        msg = _decoded(data, Control, "control message")
        if msg is None or msg.origin == self.process_id:
            return
        if msg.op == "revoke":
            self._revoked(msg.room, msg.user_id, msg.reason)
        elif msg.op == "session":
            self._session_ended(msg.user_id, msg.token_hash)
        elif msg.op == "access":
            self._spawn(self._recheck(msg.changes), "access-recheck")
        elif msg.op == "read":
            self._read_local(None, msg.user_id, msg.room, msg.seq)
        elif msg.op == "notify":
            self._notify_local(msg.user_id, msg.frame)
        elif msg.op == "everyone":
            self._everyone_local(msg.frame)

    def _on_activity(self, data: bytes) -> None:
        try:
            notes = msgspec.json.decode(data, type=list[Note])
        except msgspec.DecodeError:
            # A process of the release before publishes one note at a time (a roll).
            note = _decoded(data, Note, "activity note")
            notes = [note] if note is not None else []
        for note in notes:
            if note.origin != self.process_id:
                self.activity.add(note)

    def broker_down(self) -> None:
        metrics.BROKER_UP.set(0)
        log.warning("realtime: broker down; polling the database every %.0fs", POLL_DOWN)

    def broker_up(self) -> None:
        metrics.BROKER_UP.set(1)
        self._spawn(self._after_outage(), "after-outage")

    def channel_resubscribed(self, channel: str) -> None:
        room = channel.rsplit(":", 1)[-1]
        hub = self.hubs.get(room)
        if hub is not None:
            self._spawn(hub.catch_up(), f"catch-up-{room}")

    async def _after_outage(self) -> None:
        """Messages may have been lost: fill every room, re-check every connection."""
        await self._poll()
        for conn in list(self.connections.values()):
            try:
                await self._revalidate(conn)
            except Exception:
                log.exception("realtime: re-checking connection %d failed", conn.id)

    async def _sweep_sessions(self) -> None:
        """Close the connections whose session expired or was revoked meanwhile."""
        conns = list(self.connections.values())
        if not conns:
            return
        live = await reads.live_tokens(self.db, sorted({c.token_hash for c in conns}))
        for conn in conns:
            if conn.token_hash not in live:
                conn.close(CLOSE_POLICY, "your session ended")

    async def _revalidate(self, conn: Conn) -> None:
        if not await reads.session_alive(self.db, conn.token_hash):
            conn.close(CLOSE_POLICY, "your session ended")
            return
        actor = await reads.fresh_actor(self.db, conn.user_id)
        if actor is None:
            conn.close(CLOSE_POLICY, "your account is gone")
            return
        conn.refreshed(actor)
        for room in list(conn.subs):
            if not await reads.may_read_now(self.db, actor, room):
                conn.removed(room, "access revoked")

    # -- connections ------------------------------------------------------------------

    def register(self, conn: Conn) -> None:
        self.connections[conn.id] = conn
        self.by_user.setdefault(conn.user_id, set()).add(conn)

    async def unregister(self, conn: Conn) -> None:
        await conn.finish()
        self.connections.pop(conn.id, None)
        mine = self.by_user.get(conn.user_id)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self.by_user[conn.user_id]

    def _revoked(self, room: str, user_id: int, reason: str) -> None:
        for conn in list(self.by_user.get(user_id, ())):
            conn.removed(room, reason or "access revoked")

    def _session_ended(self, user_id: int, token_hash: str) -> None:
        for conn in list(self.by_user.get(user_id, ())):
            if token_hash in ("*", conn.token_hash):
                conn.close(CLOSE_POLICY, "your session ended")

    async def read_moved(self, conn: Conn, room: str, seq: int) -> None:
        """The user's read marker moved: tell their other connections, here and elsewhere."""
        self._read_local(conn, conn.user_id, room, seq)
        self._control(
            Control(op="read", origin=self.process_id, user_id=conn.user_id, room=room, seq=seq)
        )

    def _read_local(self, origin: Conn | None, user_id: int, room: str, seq: int) -> None:
        frame = frames.encode(frames.ReadMarker(room=room, seq=seq))
        for conn in self.by_user.get(user_id, ()):
            if conn is not origin:
                conn.outbound.offer(frame)

    def notify_user(self, user_id: int, frame: frames.ServerFrame) -> None:
        """A frame for one user's own connections on every process (e.g. `mention`)."""
        encoded = frames.encode(frame)
        self._notify_local(user_id, encoded)
        self._control(Control(op="notify", origin=self.process_id, user_id=user_id, frame=encoded))

    def _notify_local(self, user_id: int, frame: str) -> None:
        for conn in self.by_user.get(user_id, ()):
            conn.outbound.offer(frame)

    def notify_everyone(self, frame: frames.ServerFrame) -> None:
        """A frame for every open connection on every process (news any participant may
        read, e.g. `meeting_updated`); best effort, like `notify_user`."""
        encoded = frames.encode(frame)
        self._everyone_local(encoded)
        self._control(Control(op="everyone", origin=self.process_id, user_id=0, frame=encoded))

    def _everyone_local(self, frame: str) -> None:
        for conns in list(self.by_user.values()):
            for conn in conns:
                conn.outbound.offer(frame)

    def mentions_after_send(
        self, room: str, message_id: int, only: Collection[str] | None = None
    ) -> None:
        """Notify the users a committed message mentions (`only` these, after an edit); off
        the sender's ack path."""

        async def job() -> None:
            for found in await mentioned_after_commit(self.db, room, message_id, only):
                self.notify_user(found.user_id, frames.mention(found))

        self._spawn(job(), f"mentions-{room}-{message_id}")

    # -- room hubs --------------------------------------------------------------------

    async def hub(self, room: str) -> RoomHub:
        """The room's hub in this process, listening and initialised."""
        hub = self.hubs.get(room)
        if hub is None:
            hub = RoomHub(room, self._fetch, self._last_seq, self.clock, self.flusher)
            self.hubs[room] = hub
            hub.ready = asyncio.create_task(self._open_hub(hub), name=f"hub-{room}")
        assert hub.ready is not None
        try:
            await asyncio.shield(hub.ready)
        except Exception:
            if self.hubs.get(room) is hub:
                del self.hubs[room]
            raise
        return hub

    async def _open_hub(self, hub: RoomHub) -> None:
        room = hub.room

        def handler(data: bytes) -> None:
            self._on_room(room, data)

        await hub.stack.enter_async_context(self.broker.subscribe(self.room_channel(room), handler))
        try:
            await hub.initialise()
        except BaseException:
            await hub.close()
            raise

    async def _fetch(self, room: str, after: int, upto: int) -> list[tuple[int, str]]:
        events = await reads.fetch_range(self.db, room, after, upto)
        return [(e.seq, frames.encode(frames.event_frame(room, e))) for e in events]

    async def _last_seq(self, room: str) -> int:
        return await reads.last_seq(self.db, room)

    def detach(self, sub: Subscription) -> None:
        """End a subscription (unsubscribe, disconnect, lost access)."""
        hub = self.hubs.get(sub.room)
        if hub is not None:
            hub.detach(sub)
            if not hub.subs:
                hub.idle_since = self.clock.now()
        if sub.joined:
            sub.joined = False
            self._spawn(self._left(sub.room, sub.conn.username), "presence-leave")

    async def joined(self, sub: Subscription) -> None:
        """A subscription went live: count it in presence and show it the room's list."""
        sub.joined = True
        await self.presence.join(sub.room, sub.conn.username)
        self._presence_changed(sub.room)
        frame = await self._joiners.read(sub.room)
        if not sub.closed:
            sub.conn.outbound.offer(frame, ephemeral=True)

    async def _read_for_joiners(self, room: str, _: Set[None]) -> str:
        """The room's presence frame, read after the joiners it serves were counted.

        A herd of n joiners each reading the list cost n reads of up to n names (a sorted
        set in Redis, decoded and sorted again here) and n encodings. Joiners that arrive
        while a room's read is under way share the next one, which starts when that one
        ends (`self._joiners`, a `SharedNextRead`): one read per room at a time, each
        started after its joiners were counted. In a large room the reads are spaced too
        (`_joiners_wait`): back to back, a herd of thousands re-read a list of thousands
        of names hundreds of times a second.
        """
        started = self.clock.now()
        online = await self.presence.online(room)
        self._joiners_read[room] = (started, len(online))
        return frames.encode(frames.Presence(room=room, online=online))

    async def _joiners_pause(self, room: str) -> None:
        """Space the room's next read for joiners (`_joiners_wait`)."""
        wait = self._joiners_wait(room)
        if wait > 0:
            await self.clock.sleep(wait)

    def _joiners_wait(self, room: str) -> float:
        """How long the next read for a room's joiners waits: reads of the list are
        spaced to read at most PRESENCE_NAMES_PER_S names a second (none in a small room)."""
        last = self._joiners_read.get(room)
        if last is None or last[1] < PRESENCE_UNSPACED_NAMES:
            return 0.0
        started, names = last
        return started + names / PRESENCE_NAMES_PER_S - self.clock.now()

    async def _left(self, room: str, username: str) -> None:
        await self.presence.leave(room, username)
        self._presence_changed(room)

    def _presence_changed(self, room: str) -> None:
        self._presence_soon(room)
        if room not in self._presence_notice_due and not self._stopping:
            self._presence_notice_due.add(room)
            self._spawn(self._tell_presence_changed(room), "presence-notice")

    async def _tell_presence_changed(self, room: str) -> None:
        """One notice to the other processes for the changes of a room within
        PRESENCE_DEBOUNCE: each reads the whole list again on a notice, and a herd's
        notice per join used up the Redis connections that room events are published on."""
        await self.clock.sleep(PRESENCE_DEBOUNCE)
        self._presence_notice_due.discard(room)
        await self._publish_now(self.room_channel(room), envelope(PRESENCE, self.process_id, 0, ""))

    def _presence_soon(self, room: str) -> None:
        if room in self._presence_due or self._stopping:
            return
        self._presence_due.add(room)
        self._spawn(self._push_presence(room, self._presence_wait(room)), "presence")

    def _presence_wait(self, room: str) -> float:
        """How long a change waits before the room's list is pushed (see above)."""
        hub = self.hubs.get(room)
        if hub is None:
            return PRESENCE_DEBOUNCE
        names = len(hub.presence_sent) + 1 if hub.presence_sent is not None else len(hub.subs)
        cost = len(hub.subs) * names / PRESENCE_NAMES_PER_S
        return min(PRESENCE_MAX_WAIT, max(PRESENCE_DEBOUNCE, cost))

    async def _push_presence(self, room: str, delay: float) -> None:
        await self.clock.sleep(delay)
        self._presence_due.discard(room)
        hub = self.hubs.get(room)
        if hub is None or not hub.subs:
            return
        online = await self.presence.online(room)
        if online == hub.presence_sent:
            return
        hub.presence_sent = online
        frame = frames.encode(frames.Presence(room=room, online=online))
        for sub in list(hub.subs.values()):
            if not sub.loading and not sub.closed:
                sub.conn.outbound.offer(frame, ephemeral=True)

    async def typing(self, conn: Conn, room: str) -> None:
        """Show the user typing to the room's other subscribers, here and elsewhere."""
        frame = frames.encode(frames.TypingNotice(room=room, user=conn.author))
        hub = self.hubs.get(room)
        if hub is not None:
            self._typing_local(hub, conn.user_id, frame)
        self._publish(
            self.room_channel(room), envelope(TYPING, self.process_id, conn.user_id, frame)
        )

    def _typing_local(self, hub: RoomHub, user_id: int, frame: str) -> None:
        for sub in list(hub.subs.values()):
            if not sub.loading and not sub.closed and sub.conn.user_id != user_id:
                sub.conn.outbound.offer(frame, ephemeral=True)

    # -- the watch loop: polls, presence refresh, idle hubs ---------------------------

    async def _watch(self) -> None:
        last_poll = last_presence = last_sweep = last_tick = self.clock.now()
        access_failing = False
        while True:
            await self.clock.sleep(POLL_DOWN)
            metrics.flush(broker_up=self.broker.healthy)
            now = self.clock.now()
            metrics.LOOP_LAG.set(max(0.0, now - last_tick - POLL_DOWN))
            metrics.TASKS.set(len(asyncio.all_tasks()))
            last_tick = now
            self._sweep_backed_up()
            try:
                # Lost access first: a CLI command's change is seen here within a second.
                await self.access.poll()
                access_failing = False
            except Exception as exc:
                # One line per outage, not one a second (the database restarting).
                if not access_failing:
                    log.warning("realtime: polling the access version failed: %r", exc)
                access_failing = True
            try:
                if not self.broker.healthy or now - last_poll >= POLL_UP:
                    last_poll = now
                    await self._poll()
                if now - last_presence >= self.presence.refresh_every:
                    last_presence = now
                    await self.presence.refresh()
                    # Expiries (a process gone) show; spaced like any change, for in a
                    # join storm the list changes every time.
                    for room, hub in list(self.hubs.items()):
                        if hub.subs:
                            self._presence_soon(room)
                await self._close_idle_hubs(now)
                if now - last_sweep >= SESSION_SWEEP:
                    last_sweep = now
                    await self._sweep_sessions()
            except Exception:
                log.exception("realtime: watch loop step failed")

    def _sweep_backed_up(self) -> None:
        """Shed the connections backed up past the lag allowed; sample the queues."""
        now = time.monotonic()
        limit = self.config.ws_max_lag_seconds
        deepest = 0
        lag = 0.0
        for out in list(outbound.BACKED_UP):
            since = out.backed_since
            if since is None:
                continue
            deepest = max(deepest, len(out.frames))
            lag = max(lag, now - since)
            if limit and now - since > limit:
                log.info("ws: client backed up for %.1fs; closing 1013", now - since)
                out.shed(outbound.SHED_LAG)
        metrics.OUTBOUND_BACKED_UP.set(len(outbound.BACKED_UP))
        metrics.OUTBOUND_DEEPEST.set(deepest)
        metrics.OUTBOUND_LAG.set(lag)

    async def _poll(self) -> None:
        """Deliver what the database has beyond each hub's last seq."""
        rooms = [room for room, hub in self.hubs.items() if hub.last is not None]
        if not rooms:
            return
        lasts = await reads.last_seqs(self.db, rooms)
        for room, last in lasts.items():
            hub = self.hubs.get(room)
            if hub is not None and hub.last is not None and last > hub.last:
                await hub.catch_up(last)

    async def _close_idle_hubs(self, now: float) -> None:
        for room, hub in list(self.hubs.items()):
            if hub.subs or hub.idle_since is None or now - hub.idle_since < HUB_LINGER:
                continue
            if hub.ready is None or not hub.ready.done():
                continue
            del self.hubs[room]
            self._joiners_read.pop(room, None)
            await hub.close()


def _decoded(data: bytes, kind: type[T], what: str) -> T | None:
    """A broker message as `kind`, or None (logged) when it is malformed."""
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.DecodeError:
        log.warning("realtime: malformed %s", what)
        return None

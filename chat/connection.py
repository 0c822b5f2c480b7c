"""One client's WebSocket session: its frames, replies, subscriptions and limits.

The web layer authenticates, accepts, and then feeds every received text to `handle`
(one at a time, so a client's frames take effect in the order sent). Replies and room
frames go out through the connection's `Outbound` queue. An error never closes the
connection by itself; the limits that do are: more than `BAD_FRAMES_ALLOWED` bad frames
in a minute (1008), persistent flooding past the rate limits (1008), a frame over the size
limit (1009, enforced by the web layer), a client too slow to read (1013), an idle client
(1001 after `ws_idle_seconds` without a frame), a revoked session (1008).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Collection
from typing import Protocol

from chat import frames, metrics, protocol, reads, store
from chat.clock import Clock
from chat.config import ChatConfig
from chat.groupcommit import GroupCommit
from chat.hub import RoomHub, Subscription
from chat.limits import (
    BAD_FRAME_WINDOW,
    BAD_FRAMES_ALLOWED,
    FLOOD_REFUSALS,
    FLOOD_WINDOW,
    TokenBucket,
    WindowBudget,
)
from chat.notify import Notifier
from chat.outbound import CLOSE_POLICY, CLOSE_TRY_AGAIN, Flusher, Outbound, Socket
from chat.ports import Conn
from chat.protocol import ProtocolError
from persistence.db import Database
from persistence.events import StoredEvent
from persistence.handshake import RoomListing
from rooms.errors import DomainError, Forbidden
from rooms.model import Actor

log = logging.getLogger("werkplaats.ws")

# The connection's permissions (area teams, moderated rooms) are read again at least this
# often, and at once after a `removed`; bans are read on every frame regardless.
ACTOR_TTL = 30.0
# At most one `typing` per room per connection is relayed in this time; the rest are
# dropped silently (clients send them on every keystroke).
TYPING_EVERY = 1.0
_ids = itertools.count(1)


class Realtime(Protocol):
    """What a connection asks of its process's real-time hub (chat.realtime.Realtime)."""

    db: Database
    config: ChatConfig
    clock: Clock
    hubs: dict[str, RoomHub]
    sends: GroupCommit
    notifier: Notifier
    flusher: Flusher

    async def hub(self, room: str) -> RoomHub: ...
    def detach(self, sub: Subscription) -> None: ...
    async def joined(self, sub: Subscription) -> None: ...
    async def publish_event(self, room: str, event: StoredEvent) -> None: ...
    def mentions_after_send(
        self, room: str, message_id: int, only: Collection[str] | None = None
    ) -> None: ...
    async def read_moved(self, conn: Conn, room: str, seq: int) -> None: ...
    async def typing(self, conn: Conn, room: str) -> None: ...


class ClientConnection:
    """The server side of one `/ws` connection."""

    # Slots: thousands of idle connections each save a per-instance dict (~1 KiB).
    __slots__ = (
        "actor",
        "actor_read_at",
        "author",
        "bad_frames",
        "clock",
        "frame_bucket",
        "id",
        "outbound",
        "refusals",
        "rt",
        "send_bucket",
        "subs",
        "token_hash",
        "told_removed",
        "typing_at",
        "user",
    )

    def __init__(
        self,
        rt: Realtime,
        socket: Socket,
        actor: Actor,
        user: frames.HelloUser,
        token_hash: str,
    ) -> None:
        self.id = next(_ids)
        self.rt = rt
        self.actor = actor
        self.user = user
        # The user as `message` and `typing` frames show them.
        self.author = frames.Author(user.username, user.display_name, user.organisation, user.layer)
        self.token_hash = token_hash
        config, self.clock = rt.config, rt.clock
        now = self.clock.now
        self.outbound = Outbound(socket, max_frames=config.ws_queue_frames, flusher=rt.flusher)
        self.subs: dict[str, Subscription] = {}
        self.frame_bucket = TokenBucket(config.frame_burst, config.frame_rate, now)
        # Made on first use: most connections never send, err or type (a bucket made late
        # starts full, as one made now would be by then).
        self.send_bucket: TokenBucket | None = None
        self.bad_frames: WindowBudget | None = None
        self.refusals: WindowBudget | None = None
        self.typing_at: dict[str, float] | None = None
        # Rooms this connection was told `removed` of since it last subscribed to them
        # (made on first use: most connections never lose a room).
        self.told_removed: set[str] | None = None
        self.actor_read_at = self.clock.now()

    @property
    def user_id(self) -> int:
        return self.actor.user_id

    @property
    def username(self) -> str:
        return self.actor.username

    @property
    def closed(self) -> bool:
        return self.outbound.closing

    async def start(self, rooms: list[RoomListing] | None = None) -> None:
        """Queue `hello` (always the first frame) and start writing; `rooms` is its room
        list when the caller read it already (with the session, at the upgrade)."""
        if rooms is None:
            rooms = await reads.hello_rooms(self.rt.db, self.actor, self.author.layer)
        self.outbound.offer(frames.encode(frames.Hello(user=self.user, rooms=rooms)))
        self.outbound.start()

    def reply(self, frame: frames.ServerFrame) -> None:
        self.outbound.offer(frames.encode(frame))

    def overflow(self) -> None:
        self.close(CLOSE_TRY_AGAIN, "too slow; resume from your last seq")

    def close(self, code: int, reason: str) -> None:
        self.outbound.close(code, reason)

    async def handle(self, text: str) -> None:
        """Answer one client frame; never raises for anything the client did."""
        metrics.TALLY.frames_received += 1
        wait = self.frame_bucket.take()
        if wait:
            self._refuse(None, wait)
            return
        try:
            frame = protocol.parse(text)
        except ProtocolError as exc:
            self._bad(exc)
            return
        try:
            await self._dispatch_fresh(frame)
        except ProtocolError as exc:
            self._bad(exc)
            if isinstance(frame, protocol.Send):
                metrics.send_refused(exc.code)
        except DomainError as exc:
            self.reply(frames.error(exc.code, exc.message, frame.ref, exc.retry_after))
            if isinstance(frame, protocol.Send):
                metrics.send_refused(exc.code)
        except Exception:
            log.exception("ws: %s frame from %s failed", type(frame).__name__, self.username)
            self.reply(frames.error("internal", "the server failed; try again", frame.ref))
            if isinstance(frame, protocol.Send):
                metrics.send_refused("internal")

    def bad_frame(self, message: str) -> None:
        """A frame the web layer refused before parsing (e.g. binary)."""
        self._bad(ProtocolError("bad_frame", message))

    def _bad(self, exc: ProtocolError) -> None:
        self.reply(frames.error(exc.code, exc.message, exc.ref))
        if exc.code in ("bad_frame", "too_large"):
            if self.bad_frames is None:
                self.bad_frames = WindowBudget(BAD_FRAMES_ALLOWED, BAD_FRAME_WINDOW, self.clock.now)
            if not self.bad_frames.spend():
                self.close(CLOSE_POLICY, "too many bad frames")

    def _refuse(self, ref: str | None, wait: float) -> None:
        self.reply(frames.error("rate_limited", "slow down", ref, retry_after=wait))
        if self.refusals is None:
            self.refusals = WindowBudget(FLOOD_REFUSALS, FLOOD_WINDOW, self.clock.now)
        if not self.refusals.spend():
            self.close(CLOSE_POLICY, "flooding past the rate limit")

    def _send_wait(self) -> float:
        """The send bucket's `take` (0.0: go ahead)."""
        bucket = self.send_bucket
        if bucket is None:
            config = self.rt.config
            bucket = self.send_bucket = TokenBucket(
                config.send_burst, config.send_rate, self.clock.now
            )
        return bucket.take()

    async def _fresh_actor(self) -> None:
        if self.clock.now() - self.actor_read_at < ACTOR_TTL:
            return
        actor = await reads.fresh_actor(self.rt.db, self.user_id)
        if actor is None:
            self.close(CLOSE_POLICY, "your account is gone")
            raise DomainError("your account is gone")
        self.actor = actor
        self.actor_read_at = self.clock.now()

    def refreshed(self, actor: Actor) -> None:
        """The user's permissions as just read from the database."""
        self.actor = actor
        self.actor_read_at = self.clock.now()

    async def _dispatch_fresh(self, frame: protocol.ClientFrame) -> None:
        """`_dispatch`; a refusal is tried once more after reading the permissions again
        when they changed: a membership granted since (a new direct conversation) counts."""
        try:
            await self._dispatch(frame)
        except Forbidden:
            before = self.actor
            self.actor_read_at = float("-inf")
            await self._fresh_actor()
            if self.actor == before:
                raise
            await self._dispatch(frame)

    async def _dispatch(self, frame: protocol.ClientFrame) -> None:
        if not isinstance(frame, protocol.Ping):
            await self._fresh_actor()
        match frame:
            case protocol.Ping():
                self.reply(frames.Pong(ref=frame.ref))
            case protocol.Subscribe():
                await self.subscribe(frame)
            case protocol.Unsubscribe():
                await self.unsubscribe(frame.room)
            case protocol.Send():
                await self.send(frame)
            case protocol.Edit():
                mid = protocol.message_id(frame.message_id, frame.ref)
                body = protocol.clean_body(frame.body, frame.ref)
                edited, mentioned = await store.edit(self.rt.db, self.actor, frame.room, mid, body)
                await self.rt.publish_event(frame.room, edited)
                if mentioned:
                    self.rt.mentions_after_send(frame.room, mid, only=mentioned)
                    self.rt.notifier.message_posted(frame.room, mid, only=mentioned)
            case protocol.Retract():
                mid = protocol.message_id(frame.message_id, frame.ref)
                retracted = await store.retract(self.rt.db, self.actor, frame.room, mid)
                await self.rt.publish_event(frame.room, retracted)
            case protocol.React():
                await self.react(frame)
            case protocol.Typing():
                await self.typing(frame.room)
            case protocol.Read():
                seq = await store.mark_read(self.rt.db, self.actor, frame.room, frame.seq)
                await self.rt.read_moved(self, frame.room, seq)

    async def subscribe(self, frame: protocol.Subscribe) -> None:
        """Backlog after `since`, then `subscribed`, then live events (see chat/hub.py)."""
        room = frame.room
        actor = self.actor
        if room in self.subs or room not in self.rt.hubs:
            # Check before anything changes: a refused subscribe keeps the old subscription,
            # and no hub (broker channel) is opened for a room the client may not read.
            await reads.check_readable(self.rt.db, actor, room)
        # Otherwise the backlog's read transaction checks access, once: a refusal there
        # detaches the new subscription before it has sent anything.
        old = self.subs.pop(room, None)
        if old is not None:
            self.rt.detach(old)
        hub = await self.rt.hub(room)
        sub = Subscription(self, room)
        hub.attach(sub)
        self.subs[room] = sub
        if self.told_removed is not None:
            self.told_removed.discard(room)
        try:
            got = await reads.backlog(
                self.rt.db, actor, room, frame.since, self.rt.config.backlog_cap
            )
        except BaseException:
            self.subs.pop(room, None)
            self.rt.detach(sub)
            raise

        def wanted() -> bool:
            return not sub.closed

        if not await self.outbound.put_all(got.frames, wanted):
            return
        done = frames.Subscribed(
            room=room,
            last_seq=got.last_seq,
            truncated=got.first_seq is not None,
            first_seq=got.first_seq,
            ref=frame.ref,
            muted_until=got.muted_until,
            slow_mode_seconds=got.slow_mode_seconds,
            reset=frame.since is not None
            and (frame.since > got.last_seq or _restored_past(got.frames, frame.since)),
        )
        if not await self.outbound.put(frames.encode(done), wanted):
            return
        # No await from here to the end of go_live: the buffered events follow `subscribed`
        # directly, and every later event is delivered live in order.
        for live in sub.go_live(got.last_seq):
            self.outbound.offer(live)
        await self.rt.joined(sub)

    async def unsubscribe(self, room: str) -> None:
        sub = self.subs.pop(room, None)
        if sub is not None:
            self.rt.detach(sub)

    async def send(self, frame: protocol.Send) -> None:
        wait = self._send_wait()
        if wait:
            self._refuse(frame.ref, wait)
            metrics.send_refused("rate_limited")
            return
        body = protocol.clean_body(frame.body, frame.ref)
        reply_to = (
            protocol.message_id(frame.reply_to, frame.ref, "reply_to")
            if frame.reply_to is not None
            else None
        )
        topic = protocol.topic_of(frame.topic, frame.ref)
        acked = await self.rt.sends.post(
            store.SendRequest(
                self.actor,
                self.author,
                frame.room,
                body,
                frame.client_id,
                reply_to,
                tuple(frame.files),
                topic,
            )
        )
        if acked.event is not None:
            await self.rt.publish_event(frame.room, acked.event)
            if "@" in body:
                self.rt.mentions_after_send(frame.room, acked.message_id)
            self.rt.notifier.message_posted(
                frame.room, acked.message_id, personal="@" in body or reply_to is not None
            )
        ack = frames.Ack(
            client_id=frame.client_id,
            message_id=acked.message_id,
            seq=acked.seq,
            room=frame.room,
            ref=frame.ref,
        )
        self.reply(ack)
        metrics.TALLY.sends_acked += 1

    async def react(self, frame: protocol.React) -> None:
        """A reaction added or removed: a `reactions` event when the set changed."""
        # A reaction is a write and a room event like a message: the same budget.
        wait = self._send_wait()
        if wait:
            self._refuse(frame.ref, wait)
            return
        mid = protocol.message_id(frame.message_id, frame.ref)
        emoji = protocol.emoji_of(frame.emoji, frame.ref)
        reacted = await store.react(self.rt.db, self.actor, frame.room, mid, emoji, frame.on)
        if reacted is not None:
            await self.rt.publish_event(frame.room, reacted)

    async def typing(self, room: str) -> None:
        now = self.clock.now()
        typing_at = self.typing_at
        if typing_at is None:
            typing_at = self.typing_at = {}
        if now - typing_at.get(room, -TYPING_EVERY) < TYPING_EVERY:
            return
        typing_at[room] = now
        await reads.check_readable(self.rt.db, self.actor, room)
        await self.rt.typing(self, room)

    def removed(self, room: str, reason: str) -> None:
        """Access to the room is gone: stop its frames at once and say so (once: the same
        loss may arrive from the broker and from the database poll)."""
        sub = self.subs.pop(room, None)
        if sub is not None:
            sub.closed = True
            self.rt.detach(sub)
        # Membership may be what changed: read the permissions again before the next frame.
        self.actor_read_at = float("-inf")
        if self.told_removed is None:
            self.told_removed = set()
        elif room in self.told_removed:
            return
        self.told_removed.add(room)
        self.reply(frames.Removed(room=room, reason=reason))

    async def finish(self) -> None:
        """The socket is gone: leave every room and stop the writer."""
        for sub in list(self.subs.values()):
            self.rt.detach(sub)
        self.subs.clear()
        await self.outbound.stop()


_RESTORED = '{"type":"restored"'


def _restored_past(backlog: list[str], since: int) -> bool:
    """Whether the backlog holds a `restored` event whose history stops before `since`: the
    subscriber saw seqs that a restore from a backup took back (`werkplaats restore`)."""
    for encoded in backlog:
        if encoded.startswith(_RESTORED):
            after = json.loads(encoded).get("after")
            if isinstance(after, int) and after < since:
                return True
    return False

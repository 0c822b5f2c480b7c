"""Redis pub/sub between the server's processes: one channel per room, one control channel.

Redis pub/sub is at-most-once: while this process is disconnected, messages are lost, and
Redis gives no replay. So the reader reports every loss of connection (`broker_down`) and
every recovery (`broker_up`, after all channels are subscribed again), and the hubs then
read what they missed from the database. redis-py's own retries are switched off so that
no reconnect happens unnoticed.

A network that black-holes packets fails no call: a subscriber connection would wait for
messages forever. So the reader pings Redis every `health_seconds` on that connection and
replaces it when nothing at all (not even the pong) came back for `DEAD_AFTER` pings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from chat.broker.base import Broker, Handler

log = logging.getLogger("werkplaats.broker")

# How long `subscribe` waits for Redis to confirm before going on without it; the hub
# then relies on the database poll until the reader confirms the channel.
CONFIRM_TIMEOUT = 2.0
# Commands (publish, presence) give up after this long instead of stalling a sender.
COMMAND_TIMEOUT = 2.0
RECONNECT_FIRST = 0.05
RECONNECT_MAX = 2.0
READ_POLL = 1.0
# Pings unanswered before the subscriber connection counts as dead (one lost ping is noise).
DEAD_AFTER = 3


# Connections per process for commands. redis-py's default pool opens one per concurrent
# command and never closes them: a reconnect storm (a hundred clients resubscribing at once)
# left ~80 more idle connections per process for good (the soak, docs/reliability.md).
# Beyond this a command waits for a free one, within COMMAND_TIMEOUT.
POOL_MAX = 16


def _client(url: str) -> Redis:
    # Blocking: the default pool refuses a command (MaxConnectionsError) when all are in
    # use, which a herd of joins reached: room events went unpublished.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_MAX,
        timeout=COMMAND_TIMEOUT,
        socket_connect_timeout=COMMAND_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
    return Redis.from_pool(pool)


class RedisBroker(Broker):
    """Pub/sub over one subscriber connection; publishing uses a separate pool."""

    def __init__(self, url: str, health_seconds: float = 2.0) -> None:
        super().__init__()
        self.url = url
        self.health_seconds = health_seconds
        # Also used by the presence store: commands with a short timeout.
        self.redis = _client(url)
        self._sub_redis = _client(url)
        self._handlers: dict[str, list[Handler]] = {}
        self._confirmed: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._pubsub: PubSub | None = None
        self._healthy = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def connect(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redis-broker-reader")

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for client in (self.redis, self._sub_redis):
            with contextlib.suppress(Exception):
                await client.aclose()

    @property
    def healthy(self) -> bool:
        return self._healthy

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                return bool(await self.redis.ping())
        except (RedisError, OSError, TimeoutError):
            return False

    async def publish(self, channel: str, data: bytes) -> None:
        async with asyncio.timeout(COMMAND_TIMEOUT):
            await self.redis.publish(channel, data)

    async def _add(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.setdefault(channel, [])
        handlers.append(handler)
        if len(handlers) > 1 or self._closed:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(waiter)
        pubsub = self._pubsub
        try:
            if pubsub is None or not self._healthy:
                # The reader subscribes every wanted channel when it (re)connects and then
                # reports `broker_up`, which fills every hub: no need to wait here.
                self._wake.set()
                if pubsub is not None:
                    await pubsub.subscribe(channel)
                return
            await pubsub.subscribe(channel)
            async with asyncio.timeout(CONFIRM_TIMEOUT):
                await asyncio.shield(waiter)
        except (RedisError, OSError, TimeoutError):
            log.warning(
                "broker: subscription to %s not confirmed yet; polling the database", channel
            )
        finally:
            if waiter in self._waiters.get(channel, []):
                self._waiters[channel].remove(waiter)

    async def _remove(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel, [])
        if handler in handlers:
            handlers.remove(handler)
        if handlers:
            return
        self._handlers.pop(channel, None)
        self._confirmed.discard(channel)
        pubsub = self._pubsub
        if pubsub is not None and self._healthy:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    await pubsub.unsubscribe(channel)

    def _confirm(self, channel: str) -> None:
        if channel in self._confirmed:
            # Confirmed twice: the connection was renewed under us; the channel has a gap.
            self.listener.channel_resubscribed(channel)
        self._confirmed.add(channel)
        for waiter in self._waiters.pop(channel, []):
            if not waiter.done():
                waiter.set_result(None)

    def _dispatch(self, channel: str, data: bytes) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                handler(data)
            except Exception:
                log.exception("broker: handler for %s failed", channel)

    async def _run(self) -> None:
        delay = RECONNECT_FIRST
        while not self._closed:
            pubsub = self._sub_redis.pubsub()
            try:
                await self._serve(pubsub)
            except (RedisError, OSError, TimeoutError) as exc:
                if self._healthy:
                    log.warning("broker: lost Redis (%s); filling from the database", exc)
                    self._healthy = False
                    self.listener.broker_down()
            finally:
                self._pubsub = None
                self._confirmed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            if self._closed:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            delay = min(delay * 2, RECONNECT_MAX)
        self._healthy = False

    async def _serve(self, pubsub: PubSub) -> None:
        if not self._handlers:
            # Nothing to listen to yet: wait until a subscription is wanted.
            await self._wake.wait()
            self._wake.clear()
            if not self._handlers:
                return
        await pubsub.connect()  # type: ignore[no-untyped-call]
        # From here on `_add` subscribes on this connection itself; no await between
        # publishing the connection and taking the list, so no channel falls in between.
        self._pubsub = pubsub
        channels = list(self._handlers)
        await pubsub.subscribe(*channels)
        pending = set(channels)
        loop = asyncio.get_running_loop()
        heard = pinged = loop.time()
        while not self._closed:
            now = loop.time()
            if now - heard > self.health_seconds * DEAD_AFTER:
                raise TimeoutError(f"no answer from Redis for {now - heard:.1f} s")
            if now - pinged >= self.health_seconds:
                pinged = now
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    await pubsub.ping()
            message = await pubsub.get_message(
                ignore_subscribe_messages=False, timeout=min(READ_POLL, self.health_seconds)
            )
            if message is None:
                continue
            heard = loop.time()
            kind = message["type"]
            if kind == "pong":
                continue
            channel = message["channel"].decode()
            if kind == "message":
                self._dispatch(channel, message["data"])
            elif kind == "subscribe":
                self._confirm(channel)
                pending.discard(channel)
                if not pending and not self._healthy:
                    self._healthy = True
                    log.info("broker: Redis subscriptions confirmed (%d channels)", len(channels))
                    self.listener.broker_up()

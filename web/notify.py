"""Notifications of one server process: Web Push (RFC 8030, 8291, 8292) and what waits.

`Notifications` is the process's `chat.notify.Notifier`. Callers hand it work after their
commit (`notify`, `message_posted`, `assigned`); it only queues, and one worker task turns
each item into pushes: it reads, in a short read transaction, who may still read the room
and whose level lets the kind through (persistence.notifications.recipients), then posts
the encrypted pushes outside any transaction, and drops the subscriptions whose push
service answers 404 or 410. Mentions and actiepunten are also noted for the e-mail of
what waits (web/notifymail.py). The queue is bounded: past QUEUE_MAX a notice is dropped
and logged rather than held without limit.

Exactly once across processes: only the process that committed an event queues its
notices (see chat/notify.py); the e-mail rows are claimed by one process each.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from chat.notify import Notice
from chat.presence import Presence
from persistence import notifications as repo
from persistence.db import Database
from persistence.events import get_message
from persistence.models import MessageMark, Room, User, utcnow
from persistence.rooms import room_by_slug
from rooms.mentions import excerpt, mentioned_usernames
from rooms.notify import MAILED, Kind, Level, message_url
from web.notifymail import WaitingMail
from web.pushhttp import PUSH_TIMEOUT, NotPublic, push_session
from web.settings import Settings

log = logging.getLogger("werkplaats.notify")

QUEUE_MAX = 10_000
# How long a push service keeps a push for a browser that is offline (RFC 8030 TTL).
PUSH_TTL = 24 * 3600
PUSHES_AT_ONCE = 8
# A level `all` set on another process counts here after at most this long.
ALL_ROOMS_EVERY = 10.0
TITLE_MAX = 120
BODY_MAX = 200


def new_private_key() -> str:
    """A fresh P-256 private scalar, base64url without padding."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64(raw)


def public_key_of(private_key: str) -> str:
    """The uncompressed public point (65 bytes), base64url: what `PushManager` wants."""
    point = Vapid.from_raw(private_key.encode()).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64(point)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


async def load_key(db: Database) -> str:
    """The server's VAPID key: the one in the database, made by the first process to ask."""
    async with db.read() as session:
        found = await repo.vapid_key(session)
    if found is not None:
        return found
    try:
        async with db.write() as session:
            repo.add_vapid_key(session, new_private_key())
    except IntegrityError:
        pass  # another process made it first: use that one
    async with db.read() as session:
        found = await repo.vapid_key(session)
    assert found is not None
    return found


@dataclass(frozen=True, slots=True)
class _Posted:
    room: str
    message_id: int
    only: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class _Assigned:
    room: str
    message_id: int


@dataclass(frozen=True, slots=True)
class _Mailable:
    """A notice about one message, also noted for the e-mail of what waits."""

    notice: Notice
    room_id: int
    message_id: int


class Notifications:
    """The process's notifier: a bounded queue and one worker that pushes."""

    def __init__(self, settings: Settings, db: Database, presence: Presence | None = None) -> None:
        self.settings = settings
        self.db = db
        # Who has a room open right now (every process): they need no e-mail for it.
        self.presence = presence
        # The e-mail of what waits needs a mail server, and the key that signs its links.
        self.mail = (
            WaitingMail(settings, db, presence)
            if settings.smtp_host is not None and settings.secret_key
            else None
        )
        self.public_key: str | None = None
        self._vapid: Vapid | None = None
        self._key_lock = asyncio.Lock()
        self._queue: asyncio.Queue[Notice | _Posted | _Assigned] = asyncio.Queue(QUEUE_MAX)
        self._worker: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._room_pushed: dict[tuple[int, str], float] = {}
        # (user, room) → how many room-wide notices were held back, and the last of them.
        self._held: dict[tuple[int, str], tuple[int, Notice]] = {}
        self._timers: dict[tuple[int, str], asyncio.TimerHandle] = {}
        # Rooms someone set to `all`, re-read every ALL_ROOMS_EVERY (levels set elsewhere).
        self._all_rooms: set[str] = set()
        self._refresher: asyncio.Task[None] | None = None

    @property
    def push_on(self) -> bool:
        return self.settings.push_enabled

    async def start(self) -> None:
        """Start the worker; nothing here needs the database (it may be down at start)."""
        if self.settings.push_enabled:
            self._http = push_session(self.settings.push_allow_loopback)
        self._worker = asyncio.create_task(self._run(), name="notify")
        self._refresher = asyncio.create_task(self._refresh(), name="notify-levels")
        if self.mail is not None:
            self.mail.start()

    async def ensure_key(self) -> None:
        """Read (or make, the first time ever) the VAPID key; once per process."""
        if self._vapid is not None:
            return
        async with self._key_lock:
            if self._vapid is None:
                private_key = await load_key(self.db)
                self.public_key = public_key_of(private_key)
                self._vapid = Vapid.from_raw(private_key.encode())

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        if self.mail is not None:
            await self.mail.stop()
        for task in (self._worker, self._refresher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._http is not None:
            await self._http.close()

    async def drain(self) -> None:
        """Wait until everything queued so far is handled (tests, shutdown)."""
        await self._queue.join()

    # -- the entry points (no waiting) ---------------------------------------------------

    def notify(self, notice: Notice) -> None:
        """Queue a notice for its users (meeting changes, published reports, …)."""
        self._put(notice)

    def message_posted(
        self,
        room: str,
        message_id: int,
        only: Collection[str] | None = None,
        personal: bool = True,
    ) -> None:
        # Most messages concern nobody personally in a room nobody set to `all`: skip those
        # here, so a busy room costs the notifier no queries.
        if personal or room in self._all_rooms:
            self._put(_Posted(room, message_id, tuple(only) if only is not None else None))

    def level_set(self, room: str, level: Level) -> None:
        """A member set a room's level in this process: `all` counts at once."""
        if level == "all":
            self._all_rooms.add(room)

    def assigned(self, room: str, message_id: int) -> None:
        """A message was marked as actiepunt: tell its owner."""
        self._put(_Assigned(room, message_id))

    def _put(self, item: Notice | _Posted | _Assigned) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("notification queue full: a notice was dropped")

    # -- the worker ----------------------------------------------------------------------

    async def _refresh(self) -> None:
        """Warm up (key, rooms set to `all`) as soon as the database answers; then re-read
        the rooms set to `all` every ALL_ROOMS_EVERY."""
        while True:
            try:
                if self.push_on:
                    await self.ensure_key()
                async with self.db.read() as session:
                    self._all_rooms = await repo.rooms_with_all(session)
            except Exception as exc:
                log.warning("notification settings not read: %s", type(exc).__name__)
            await asyncio.sleep(ALL_ROOMS_EVERY)

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except Exception:
                log.exception("notification failed")
            finally:
                self._queue.task_done()

    async def _handle(self, item: Notice | _Posted | _Assigned) -> None:
        if isinstance(item, Notice):
            await self.deliver(item)
            return
        async with self.db.read() as session:
            room = await room_by_slug(session, item.room)
            if room is None:
                return
            if isinstance(item, _Posted):
                mailables = await _about_message(session, room, item.message_id, item.only)
            else:
                mailables = await _about_assignment(session, room, item.message_id)
        for m in mailables:
            await self.deliver(m.notice, m)

    async def deliver(self, notice: Notice, mailable: _Mailable | None = None) -> None:
        """Push the notice to those of its users who may have it now; note mails."""
        async with self.db.read() as session:
            room = await room_by_slug(session, notice.room) if notice.room else None
            if notice.room is not None and room is None:
                return
            users = await repo.recipients(session, notice.user_ids, room, notice.kind)
            users = self._paced(users, notice)
            endpoints = (
                await repo.endpoints_of(session, [u.id for u in users]) if self.push_on else []
            )
        if endpoints:
            await self.ensure_key()
        if mailable is not None and notice.kind in MAILED and users:
            due = utcnow() + timedelta(seconds=self.settings.notify_mail_seconds)
            async with self.db.write() as session:
                await repo.queue_mail(
                    session, [u.id for u in users], mailable.room_id, mailable.message_id,
                    notice.kind, due,
                )  # fmt: skip
        if not endpoints:
            return
        payload = orjson.dumps(
            {
                "title": notice.title[:TITLE_MAX],
                "body": notice.body[:BODY_MAX],
                "url": notice.url,
            }
        ).decode()
        gate = asyncio.Semaphore(PUSHES_AT_ONCE)

        async def one(e: repo.Endpoint) -> str | None:
            async with gate:
                return None if await self._push(e, payload, notice) else e.endpoint

        dead = [gone for gone in await asyncio.gather(*(one(e) for e in endpoints)) if gone]
        if dead:
            async with self.db.write() as session:
                await repo.drop_endpoints(session, dead)

    def _paced(self, users: list[User], notice: Notice) -> list[User]:
        """Room-wide (`message`) pushes: at most one per member and room in the window; what
        comes in between is held and pushed as one, with a count, when the window ends."""
        if notice.kind != "message" or notice.room is None:
            return users
        every = self.settings.notify_room_push_seconds
        now = time.monotonic()
        kept = []
        for user in users:
            key = (user.id, notice.room)
            wait = self._room_pushed.get(key, -every) + every - now
            if wait <= 0:
                self._room_pushed[key] = now
                kept.append(user)
                continue
            count, _ = self._held.get(key, (0, notice))
            if count == 0:
                loop = asyncio.get_running_loop()
                self._timers[key] = loop.call_later(wait, self._release, key)
            self._held[key] = (count + 1, notice)
        if len(self._room_pushed) > QUEUE_MAX:
            self._room_pushed = {k: t for k, t in self._room_pushed.items() if now - t < every}
        return kept

    def _release(self, key: tuple[int, str]) -> None:
        """The window ended: push what was held, as one notice (judged again on delivery)."""
        self._timers.pop(key, None)
        count, last = self._held.pop(key, (0, None))
        if last is None:
            return
        title = last.title if count == 1 else f"{last.title} (+{count - 1} meer)"
        self._put(Notice((key[0],), "message", title, last.body, last.url, last.room))

    async def _push(self, e: repo.Endpoint, payload: str, notice: Notice) -> bool:
        """Post one push; False when the push service says the subscription is gone."""
        assert self._vapid is not None
        headers: dict[str, str | int | float] = {"Urgency": "normal"}
        if notice.room is not None:
            # RFC 8030 §5.4: an undelivered push of the same topic is replaced, not stacked.
            headers["Topic"] = _b64(hashlib.sha256(notice.room.encode()).digest()[:24])
        try:
            await webpush_async(
                {"endpoint": e.endpoint, "keys": {"p256dh": e.p256dh, "auth": e.auth}},
                payload,
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self._subject()},
                ttl=PUSH_TTL,
                timeout=PUSH_TIMEOUT,
                headers=headers,
                aiohttp_session=self._http,
            )
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):
                return False
            log.warning("push refused: status %s", status)
        except NotPublic as exc:
            log.warning("push refused: %s", exc)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            log.warning("push failed: %s", type(exc).__name__)
        return True

    def _subject(self) -> str:
        return self.settings.vapid_subject or f"mailto:{self.settings.smtp_from}"


async def _about_message(
    session: Any, room: Room, message_id: int, only: tuple[str, ...] | None
) -> list[_Mailable]:
    """The notices a committed message causes: mentions, a reply, the room's `all` members."""
    message = await get_message(session, room.id, message_id)
    if message is None or message.hidden:
        return []
    author = await session.get(User, message.author_id)
    who = author.display_name if author is not None else "Iemand"
    url = message_url(room.slug, message.seq)
    text = excerpt(message.body, BODY_MAX)
    told: set[int] = {message.author_id}
    found: list[_Mailable] = []

    def add(kind: Kind, user_ids: list[int], title: str) -> None:
        ids = tuple(u for u in user_ids if u not in told)
        told.update(ids)
        if ids:
            notice = Notice(ids, kind, title, text, url, room.slug)
            found.append(_Mailable(notice, room.id, message.id))

    names = [n for n in mentioned_usernames(message.body) if only is None or n in only]
    if names:
        rows = await session.execute(select(User.id).where(User.username.in_(names)))
        add("mention", list(rows.scalars()), f"{who} noemde je in {room.name}")
    if only is not None:
        return found
    if message.reply_to is not None:
        parent = await get_message(session, room.id, message.reply_to)
        if parent is not None and not parent.hidden:
            add("reply", [parent.author_id], f"{who} reageerde op je bericht in {room.name}")
    add("message", await repo.listening_to_all(session, room.id), f"{who} in {room.name}")
    return found


async def _about_assignment(session: Any, room: Room, message_id: int) -> list[_Mailable]:
    mark = await session.get(MessageMark, message_id)
    if (
        mark is None
        or mark.room_id != room.id
        or mark.kind != "actiepunt"
        or mark.owner_id is None
        or mark.owner_id == mark.marked_by_id
    ):
        return []
    message = await get_message(session, room.id, message_id)
    if message is None or message.hidden:
        return []
    notice = Notice(
        (mark.owner_id,),
        "assigned",
        f"Actiepunt voor jou in {room.name}",
        excerpt(message.body, BODY_MAX),
        message_url(room.slug, message.seq),
        room.slug,
    )
    return [_Mailable(notice, room.id, message.id)]

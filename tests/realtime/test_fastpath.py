"""The direct write path (frames written straight to uvicorn's transport), the reader's idle
timer and the presence throttle: order and completeness under real concurrency."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

from chat import realtime as rtmod
from chat.hub import RoomHub, Subscription
from chat.metrics import TALLY
from chat.outbound import FANOUT, Flusher, Outbound
from chat.presence import MemoryPresence
from tests.clients import OpenClient, wait_closed
from tests.clock import FakeClock
from tests.helpers import DirectWrites, make_settings, running_server
from web import internals

ROOM = "theme-one"


async def three_senders_at_once(
    base: str, open_client: OpenClient, watching: list[str], each: int, writes: DirectWrites
) -> int:
    """Three senders send `each` messages at once; every watcher (a connection per name)
    sees 1…N exactly once, in order, with no gap. N; `writes` counts from the first send."""
    senders = [await open_client(base, u) for u in ("ann", "amy", "bob")]
    watchers = [await open_client(base, u) for u in watching]
    for watcher in watchers:
        await watcher.subscribe(ROOM, since=0)
    writes.count = 0

    async def stream(i: int) -> list[dict[str, Any]]:
        return await asyncio.gather(*(senders[i].send(ROOM, f"s{i}-{n}") for n in range(each)))

    acks = await asyncio.gather(*(stream(i) for i in range(3)))
    last = max(int(a["seq"]) for batch in acks for a in batch)
    assert last == 3 * each
    for watcher in watchers:
        await watcher.wait_seq(ROOM, last)
        assert [e["seq"] for e in watcher.events[ROOM]] == list(range(1, last + 1))
        assert not watcher.gaps and not watcher.duplicates
    return last


async def test_concurrent_publishers_reach_every_subscriber_in_order_once_by_direct_writes(
    db_url: str, open_client: OpenClient, direct_writes: DirectWrites
) -> None:
    """Three senders at once, five watchers: each watcher sees 1…N exactly once, in order,
    and the frames went out by the direct path (counted in this in-process server)."""
    settings = make_settings(db_url, send_burst=1000, send_rate=1000)
    watching = ["mo", "ada", "rita", "ann", "amy"]
    async with running_server(settings) as base:
        await three_senders_at_once(base, open_client, watching, 40, direct_writes)
    assert direct_writes.count >= len(watching)  # the deliveries took the direct path


async def test_a_paced_fan_out_delivers_every_event_once_in_order_in_fewer_writes(
    db_url: str, open_client: OpenClient, direct_writes: DirectWrites
) -> None:
    """Over FANOUT watchers on real sockets, three senders at once, the flush paced: every
    watcher still sees 1…N once, in order, with no gap, and the events shared writes."""
    settings = make_settings(
        db_url, send_burst=1000, send_rate=1000, ws_max_per_user=100, ws_fanout_linger_seconds=0.05
    )
    watching = [("mo", "ada", "rita")[i % 3] for i in range(FANOUT + 6)]
    async with running_server(settings) as base:
        last = await three_senders_at_once(base, open_client, watching, 20, direct_writes)
    assert direct_writes.count < len(watching) * last


async def test_frames_are_framed_once_per_text() -> None:
    """The same str object is framed once; the bytes are a valid unmasked text frame."""
    text = "x" * 200
    first = internals.text_frame(text)
    assert internals.text_frame(text) is first
    assert first[:4] == bytes((0x81, 126, 0, 200)) and first[4:] == text.encode()
    assert internals.text_frame("hé") == bytes((0x81, 3)) + "hé".encode()
    big = "y" * 70_000
    assert internals.text_frame(big)[:10] == bytes((0x81, 127)) + (70_000).to_bytes(8, "big")


class FlakyDirect:
    """A direct writer that pauses (like a full transport) and records each write."""

    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.open = True

    def ready(self) -> bool:
        return self.open

    def write_text(self, data: str) -> None:
        self.out.append(data)


class PausingSocket:
    """The ASGI path waits while the transport is paused, then writes in order."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.writer = FlakyDirect(self.out)
        self.resumed = asyncio.Event()

    async def send_text(self, data: str) -> None:
        await self.resumed.wait()
        self.out.append(data)

    async def close(self, code: int, reason: str) -> None:
        pass

    def abort(self) -> None:
        pass

    def direct(self) -> FlakyDirect:
        return self.writer


async def test_order_holds_when_the_transport_pauses_and_resumes() -> None:
    """Frames of one turn leave in one direct write; while paused, and while a batch is in
    flight, later frames queue behind it; the order always holds."""
    sock = PausingSocket()
    out = Outbound(sock)
    out.start()
    out.offer("1")
    out.offer("2")
    await asyncio.sleep(0)
    assert sock.out == ["1\n2"]  # one write at the end of the turn, no task
    out.offer("3")
    await asyncio.sleep(0)
    assert sock.out == ["1\n2", "3"]
    sock.writer.open = False
    out.offer("4")
    out.offer("5")
    await asyncio.sleep(0.01)  # paused: a writer now waits in send_text with 4 and 5
    sock.writer.open = True
    out.offer("6")  # a batch is in flight: queued behind it, not written around it
    await asyncio.sleep(0)
    assert sock.out == ["1\n2", "3"]
    sock.resumed.set()
    await asyncio.sleep(0.01)
    out.offer("7")
    await asyncio.sleep(0)
    assert sock.out == ["1\n2", "3", "4\n5", "6", "7"]
    await out.stop()


async def test_frames_sent_counts_each_frame_of_a_joined_text() -> None:
    """`werkplaats_ws_frames_sent` counts frames, not writes: an activity text that joins
    several frames counts as that many, alone or batched with others."""
    sock = PausingSocket()
    out = Outbound(sock)
    out.start()
    before = TALLY.frames_sent
    out.offer("a\nb\nc", ephemeral=True)  # alone: the one-frame branch of a batch
    await asyncio.sleep(0)
    out.offer("d")
    out.offer("e\nf", ephemeral=True)
    await asyncio.sleep(0)
    assert sock.out == ["a\nb\nc", "d\ne\nf"]
    assert TALLY.frames_sent - before == 6
    await out.stop()


async def test_a_fan_out_paces_the_next_flush_and_joins_its_frames_once() -> None:
    """After a room event for FANOUT subscribers the next flush waits for the linger: the
    events that arrive meanwhile leave in one write per connection, joined once (the same
    str object for all), in order. Frames offered outside a fan-out (acks) pace nothing."""
    flusher = Flusher(linger=0.05)
    hub = RoomHub(ROOM, None, None, flusher=flusher)  # type: ignore[arg-type]
    hub.last = 0
    socks = [PausingSocket() for _ in range(FANOUT)]
    outs = []
    for sock in socks:
        out = Outbound(sock, flusher=flusher)
        out.start()
        outs.append(out)
        conn: Any = type("Conn", (), {"outbound": out, "overflow": lambda: None})()
        sub = Subscription(conn, ROOM)
        sub.go_live(0)
        hub.attach(sub)

    hub.receive(1, "1")
    await asyncio.sleep(0)
    assert all(sock.out == ["1"] for sock in socks)  # the first fan-out goes at once
    hub.receive(2, "2")
    hub.receive(3, "3")
    await asyncio.sleep(0)
    assert all(sock.out == ["1"] for sock in socks)  # held: within the linger
    for _ in range(100):
        await asyncio.sleep(0.01)
        if all(len(sock.out) == 2 for sock in socks):
            break
    assert all(sock.out == ["1", "2\n3"] for sock in socks)
    assert len({id(sock.out[1]) for sock in socks}) == 1  # joined once for everyone
    await asyncio.sleep(0.06)  # the linger is over
    for text in ("ack-a", "ack-b"):
        for out in outs:
            out.offer(text)
        await asyncio.sleep(0)  # no fan-out before: each goes in its own turn
        assert all(sock.out[-1] == text for sock in socks)
    for out in outs:
        await out.stop()


async def test_a_backlog_put_at_once_waits_at_the_low_water_mark_and_keeps_order() -> None:
    """`put_all` queues without an await per frame while there is room, waits while the
    queue is over its low-water mark, and stops once the frames are no longer wanted."""
    sock = PausingSocket()
    out = Outbound(sock, max_frames=16)
    out.start()
    sock.writer.open = False  # a full transport: everything queues
    frames = [str(i) for i in range(50)]
    putting = asyncio.create_task(out.put_all(frames, lambda: True))
    await asyncio.sleep(0.01)
    assert not putting.done() and len(out.frames) + len(sock.out) <= 16
    sock.writer.open = True
    sock.resumed.set()
    assert await putting
    await asyncio.sleep(0.01)
    assert "\n".join(sock.out).split("\n") == frames
    await out.stop()

    sock = PausingSocket()
    out = Outbound(sock, max_frames=16)
    out.start()
    sock.writer.open = False
    wanted = True
    putting = asyncio.create_task(out.put_all(frames, lambda: wanted))
    await asyncio.sleep(0.01)
    wanted = False
    sock.writer.open = True
    sock.resumed.set()
    assert not await putting
    await asyncio.sleep(0.01)
    got = "\n".join(sock.out).split("\n")
    assert got == frames[: len(got)] and len(got) < 50
    await out.stop()


async def test_an_idle_timer_is_reset_by_frames(db_url: str, open_client: OpenClient) -> None:
    """A client that keeps sending frames outlives the idle limit; a silent one does not."""
    clock = FakeClock()
    async with running_server(make_settings(db_url, ws_idle_seconds=60), clock=clock) as base:
        talker = await open_client(base, "ann", reconnect=False)
        silent = await open_client(base, "amy", reconnect=False)
        for _ in range(10):
            await clock.advance(30)
            assert (await talker.ping())["type"] == "pong"
        await wait_closed(silent)
        assert not talker.close_codes
        assert silent.close_codes == [1001]


async def test_the_online_list_stays_sorted_through_joins_and_leaves() -> None:
    """The sorted names kept beside the counts are always the counted users, sorted."""
    presence = MemoryPresence()
    rng = random.Random(7)
    held: Counter[str] = Counter()
    for _ in range(3000):
        name = rng.choice(["ann", "amy", "bob", "b.o_b", "z-z", "a1", "rita", "mo"])
        if rng.random() < 0.55:
            await presence.join(ROOM, name)
            held[name] += 1
        else:
            await presence.leave(ROOM, name)
            held[name] = max(0, held[name] - 1)
        assert await presence.online(ROOM) == sorted(n for n, c in held.items() if c > 0)
    for name, count in held.items():
        for _ in range(count):
            await presence.leave(ROOM, name)
    assert await presence.online(ROOM) == [] and not presence.local


def test_presence_pushes_in_a_big_room_are_spaced() -> None:
    """A small room is pushed within the debounce; 500 names to 500 subscribers is spaced
    so that the room sends at most PRESENCE_NAMES_PER_S names a second."""
    rt: Any = object.__new__(rtmod.Realtime)
    hub = RoomHub(ROOM, None, None)  # type: ignore[arg-type]
    rt.hubs = {ROOM: hub}
    for i in range(5):
        hub.subs[i] = Subscription(None, ROOM)  # type: ignore[arg-type]
    hub.presence_sent = [f"u{i}" for i in range(5)]
    assert rt._presence_wait(ROOM) == rtmod.PRESENCE_DEBOUNCE
    for i in range(500):
        hub.subs[i] = Subscription(None, ROOM)  # type: ignore[arg-type]
    hub.presence_sent = [f"u{i}" for i in range(500)]
    wait = rt._presence_wait(ROOM)
    assert wait == min(rtmod.PRESENCE_MAX_WAIT, 500 * 501 / rtmod.PRESENCE_NAMES_PER_S)
    assert rt._presence_wait("elsewhere") == rtmod.PRESENCE_DEBOUNCE


async def test_a_join_storm_ends_with_everyone_seeing_the_full_list(
    db_url: str, open_client: OpenClient
) -> None:
    """Six users join at once: each ends up with a presence list of all six."""
    names = ["ann", "amy", "bob", "rita", "mo", "ada"]
    async with running_server(make_settings(db_url)) as base:
        clients = [await open_client(base, u) for u in names]
        await asyncio.gather(*(c.subscribe(ROOM, since=None) for c in clients))
        for c in clients:
            await c.wait_for(
                lambda f: f.get("type") == "presence" and f.get("online") == sorted(names)
            )


async def test_a_connection_backed_up_past_the_lag_is_shed_with_1013_and_counted() -> None:
    """Frames waiting on a paused socket mark the connection backed up; the sweep leaves it
    while within the lag allowed, then closes it with 1013 and counts the shed by reason;
    one that caught up is no longer looked at."""
    from types import SimpleNamespace

    from chat import metrics, outbound
    from chat.realtime import Realtime

    shed = metrics.SHED.labels(outbound.SHED_LAG)
    before = shed._value.get()
    sweeper = SimpleNamespace(config=SimpleNamespace(ws_max_lag_seconds=60.0))
    slow, quick = PausingSocket(), PausingSocket()
    outs = [Outbound(slow), Outbound(quick)]
    for out in outs:
        out.start()
    slow.writer.open = quick.writer.open = False
    for out in outs:
        out.offer("1")
    await asyncio.sleep(0.01)
    assert all(out in outbound.BACKED_UP for out in outs)
    Realtime._sweep_backed_up(sweeper)  # type: ignore[arg-type]
    assert not any(out.closing for out in outs)
    quick.resumed.set()
    await asyncio.sleep(0.01)
    assert quick.out == ["1"] and outs[1] not in outbound.BACKED_UP
    sweeper.config.ws_max_lag_seconds = 0.001
    Realtime._sweep_backed_up(sweeper)  # type: ignore[arg-type]
    assert outs[0].close_code == 1013 and not outs[1].closing
    assert shed._value.get() == before + 1
    assert outs[0] not in outbound.BACKED_UP
    for out in outs:
        await out.stop()

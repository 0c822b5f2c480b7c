"""chat.hub and chat.outbound with fakes: ordering, gap filling, the overflow policy."""

from __future__ import annotations

import asyncio
from typing import Any

from chat import hub as hubmod
from chat.hub import RoomHub, Subscription
from chat.outbound import Outbound
from tests.clock import FakeClock


class FakeSocket:
    def __init__(self, stuck: bool = False) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.aborted = False
        self.stuck = stuck

    async def send_text(self, data: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(data)

    async def close(self, code: int, reason: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.closed = (code, reason)

    def abort(self) -> None:
        self.aborted = True


class FakeConn:
    def __init__(self, max_frames: int = 100, stuck: bool = False) -> None:
        self.socket = FakeSocket(stuck)
        self.outbound = Outbound(self.socket, max_frames=max_frames)
        self.user_id = 1
        self.overflowed = False

    def overflow(self) -> None:
        self.overflowed = True

    def received(self) -> list[int]:
        return [int(f.split(":")[1]) for f in self.outbound.frames]


def frame(seq: int) -> str:
    return f"seq:{seq}"


def make_hub(db: dict[int, str], last: int = 0, clock: FakeClock | None = None) -> RoomHub:
    async def fetch(room: str, after: int, upto: int) -> list[tuple[int, str]]:
        return [(s, db[s]) for s in sorted(db) if after < s <= upto]

    async def last_seq(room: str) -> int:
        return last

    return RoomHub("r", fetch, last_seq, clock or FakeClock())


def live_sub(hub: RoomHub, conn: Any, last: int) -> Subscription:
    sub = Subscription(conn, "r")
    hub.attach(sub)
    sub.go_live(last)
    return sub


async def test_out_of_order_events_are_delivered_in_order_once() -> None:
    """Seqs arriving 3, 1, 2, 2 are delivered 1, 2, 3."""
    hub = make_hub({})
    await hub.initialise()
    conn = FakeConn()
    live_sub(hub, conn, 0)
    for seq in (3, 1, 2, 2, 1):
        hub.receive(seq, frame(seq))
    assert conn.received() == [1, 2, 3]
    await hub.close()


async def test_a_gap_is_filled_from_the_database_after_the_reorder_wait() -> None:
    """A seq that never arrives is read from the database; order holds."""
    db = {s: frame(s) for s in range(1, 6)}
    clock = FakeClock()
    hub = make_hub(db, clock=clock)
    await hub.initialise()
    conn = FakeConn()
    live_sub(hub, conn, 0)
    hub.receive(1, frame(1))
    hub.receive(4, frame(4))
    await asyncio.sleep(0)  # the filler task starts its wait
    await clock.advance(hubmod.REORDER_WAIT / 2)
    assert conn.received() == [1]
    await clock.advance(hubmod.REORDER_WAIT / 2)
    assert conn.received() == [1, 2, 3, 4]
    await hub.catch_up(5)
    assert conn.received() == [1, 2, 3, 4, 5]
    await hub.close()


async def test_a_loading_subscription_buffers_and_goes_live_after_its_backlog() -> None:
    """Events during the backlog read are sent after it, without the ones it already had."""
    hub = make_hub({}, last=2)
    await hub.initialise()
    conn = FakeConn()
    sub = Subscription(conn, "r")
    hub.attach(sub)
    for seq in (3, 4, 5):
        hub.receive(seq, frame(seq))
    assert conn.received() == []
    assert [int(f.split(":")[1]) for f in sub.go_live(4)] == [5]
    hub.receive(6, frame(6))
    assert conn.received() == [6]
    await hub.close()


async def test_overflow_drops_ephemeral_frames_first_then_closes_1013() -> None:
    """A full queue loses typing/presence first; room events that do not fit close it."""
    conn = FakeConn(max_frames=4)
    out = conn.outbound
    assert out.offer("typing", ephemeral=True)
    for seq in range(1, 4):
        assert out.offer(frame(seq))
    assert out.offer(frame(4))  # fits once the typing frame is dropped
    assert out.frames == [frame(s) for s in range(1, 5)]
    assert not out.offer("presence", ephemeral=True)
    assert not out.closing
    assert not out.offer(frame(5))
    assert out.closing
    await asyncio.sleep(0.05)
    assert conn.socket.closed is not None and conn.socket.closed[0] == 1013


async def test_a_stuck_socket_is_aborted_when_not_even_close_can_be_written(
    monkeypatch: Any,
) -> None:
    """Closing never waits on a socket that takes nothing: the transport is aborted."""
    monkeypatch.setattr("chat.outbound.CLOSE_TIMEOUT", 0.1)
    conn = FakeConn(max_frames=2, stuck=True)
    out = conn.outbound
    out.start()
    for seq in range(1, 6):
        out.offer(frame(seq))
    await asyncio.sleep(0.3)
    assert out.closing and conn.socket.aborted
    await out.stop()


async def test_the_writer_combines_ready_frames_into_one_message() -> None:
    """Frames queued together leave as one WebSocket message joined by newlines."""
    conn = FakeConn()
    for seq in (1, 2, 3):
        conn.outbound.offer(frame(seq))
    conn.outbound.start()
    await asyncio.sleep(0.05)
    assert conn.socket.sent == ["seq:1\nseq:2\nseq:3"]
    await conn.outbound.stop()

"""The `activity` fan-out in-process: what each connection is offered in one flush, against
the rule applied room by room (`may_read`, then the reader's own frame)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from chat import activity
from chat.activity import ActivityFeed, Note, _frame, _joined
from chat.outbound import MAX_BATCH_CHARS
from persistence.activity_facts import RoomReaders
from rooms.access import may_read
from rooms.model import Actor, Restriction, Role, RoomKind, RoomRef

ROOMS = {
    "theme-one": RoomRef(1, "theme-one", RoomKind.THEME),
    "theme-two": RoomRef(2, "theme-two", RoomKind.THEME),
    "meet": RoomRef(3, "meet", RoomKind.MEETING),
    "area-a": RoomRef(4, "area-a", RoomKind.AREA),
    "theme-ban": RoomRef(5, "theme-ban", RoomKind.THEME),
    "theme-at": RoomRef(6, "theme-at", RoomKind.THEME),
}


class Out:
    """An outbound queue that keeps what it is offered."""

    def __init__(self) -> None:
        self.offered: list[str] = []

    def offer(self, frame: str, ephemeral: bool = False) -> bool:
        assert ephemeral
        self.offered.append(frame)
        return True


class Conn:
    def __init__(self, actor: Actor, subs: list[str], layer: str = "gemeente") -> None:
        self.actor = actor
        self.username = actor.username
        self.user_id = actor.user_id
        self.author = SimpleNamespace(layer=layer)
        self.subs = dict.fromkeys(subs)
        self.outbound = Out()
        self.closed = False

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(line) for text in self.outbound.offered for line in text.split("\n")]


def feed_of(conns: list[Conn], bans: dict[tuple[int, int], Restriction]) -> ActivityFeed:
    by_user: dict[int, set[Any]] = {}
    for conn in conns:
        by_user.setdefault(conn.user_id, set()).add(conn)
    return ActivityFeed(SimpleNamespace(db=None, clock=None, by_user=by_user))


@pytest.fixture
def facts(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[int, int], Restriction]:
    """The flush's one database call, answered from `ROOMS` and the bans put in here."""
    bans: dict[tuple[int, int], Restriction] = {}

    async def run(db: object, fn: object, slugs: list[str]) -> RoomReaders:
        return RoomReaders({s: ROOMS[s] for s in slugs if s in ROOMS}, dict(bans))

    monkeypatch.setattr(activity, "handshake", SimpleNamespace(run=run))
    return bans


def expected(conn: Conn, batch: dict[str, list[Note]], bans: dict[Any, Restriction]) -> list[Any]:
    """The frames of the rule room by room: a reader who may read and is not subscribed."""
    now = datetime.now(UTC)
    out = []
    for slug, notes in batch.items():
        ref = ROOMS[slug]
        ban = bans.get((ref.id, conn.user_id))
        if slug in conn.subs or not may_read(conn.actor, ref, ban, now):
            continue
        team = ref.kind is RoomKind.AREA and ref.id in conn.actor.area_room_ids
        text = _frame(slug, notes, conn.username, conn.author.layer, team)
        if text:
            out.append(json.loads(text))
    return sorted(out, key=lambda f: f["room"])


def note(room: str, seq: int, author: str, *mentions: str) -> Note:
    return Note("elsewhere", room, seq, author, list(mentions))


ANN = Actor(1, "ann", Role.MEMBER, area_room_ids=frozenset({4}))
BOB = Actor(2, "bob", Role.MEMBER)
CAS = Actor(3, "cas", Role.MEMBER, area_room_ids=frozenset({4}))
MO = Actor(4, "mo", Role.MODERATOR)


async def test_each_connection_gets_what_the_rule_gives_room_by_room(
    facts: dict[tuple[int, int], Restriction],
) -> None:
    """Open rooms, an area room, a ban, mentions by name and by group, authors, several
    connections of one user: every connection gets exactly the rule's frames."""
    facts[(5, 2)] = Restriction(None)  # bob is banned in theme-ban
    facts[(5, 3)] = Restriction(datetime.now(UTC) - timedelta(days=1))  # cas's ban ended
    conns = [
        Conn(ANN, []),
        Conn(ANN, ["theme-one"]),
        Conn(BOB, ["meet"], layer="waterschap"),
        Conn(CAS, ["theme-two", "area-a"]),
        Conn(MO, []),
    ]
    batch = {
        "theme-one": [note("theme-one", 7, "ann"), note("theme-one", 8, "cas")],
        "theme-two": [note("theme-two", 3, "bob")],
        "meet": [note("meet", 11, "mo"), note("meet", 12, "mo")],
        "area-a": [note("area-a", 5, "cas", "ann"), note("area-a", 6, "mo", "gebied")],
        "theme-ban": [note("theme-ban", 2, "mo")],
        "theme-at": [note("theme-at", 9, "ann", "waterschap"), note("theme-at", 10, "cas")],
    }
    await feed_of(conns, facts).flush(batch)
    for conn in conns:
        got = sorted(conn.frames(), key=lambda f: f["room"])
        assert got == expected(conn, batch, facts), conn.username


async def test_frames_of_open_rooms_go_as_one_text_shared_by_like_connections(
    facts: dict[tuple[int, int], Restriction],
) -> None:
    """Connections that leave out the same rooms get one text, the same object, with a
    frame per room; the author's own frame leaves their message out."""
    readers = [Conn(Actor(10 + i, f"r{i}", Role.MEMBER), ["theme-one"]) for i in range(3)]
    author = Conn(Actor(20, "wim", Role.MEMBER), ["theme-one"])
    batch = {
        "theme-two": [note("theme-two", 4, "wim"), note("theme-two", 5, "r0")],
        "meet": [note("meet", 1, "zoe")],
        "theme-one": [note("theme-one", 9, "zoe")],
    }
    await feed_of([*readers, author], facts).flush(batch)
    texts = [r.outbound.offered for r in readers[1:]]
    assert all(len(t) == 1 and t[0] is readers[1].outbound.offered[0] for t in texts)
    assert {f["room"] for f in readers[1].frames()} == {"theme-two", "meet"}
    own = {f["room"]: f["unread"] for f in author.frames()}
    assert own == {"theme-two": [5], "meet": [1]}
    # r0 wrote seq 5: their theme-two frame is their own, the rest shared.
    assert {f["room"]: f["unread"] for f in readers[0].frames()} == own | {"theme-two": [4]}


async def test_a_user_s_own_frame_is_built_once_for_all_their_connections(
    facts: dict[tuple[int, int], Restriction],
) -> None:
    """A mention's frame is per user: their two connections get the same text object."""
    two = [Conn(ANN, []), Conn(ANN, [])]
    other = Conn(BOB, [])
    await feed_of([*two, other], facts).flush({"area-a": [note("area-a", 3, "cas", "ann")]})
    first, second = (c.outbound.offered for c in two)
    assert len(first) == 1 and first[0] is second[0]
    assert json.loads(first[0])["mentions"] == [3]
    assert other.outbound.offered == []  # bob is not in area-a's team


def test_joined_texts_stay_within_one_websocket_message() -> None:
    """Frames joined with a newline, split where the next would pass the message's bound."""
    frames_ = ["x" * 1000] * 200
    texts = _joined(frames_)
    assert len(texts) > 1 and all(len(t) <= MAX_BATCH_CHARS for t in texts)
    assert "\n".join(texts).split("\n") == frames_
    assert _joined(["a"]) == ["a"] and _joined([]) == []


async def test_a_long_fan_out_lets_the_event_loop_run_between_slices(
    facts: dict[tuple[int, int], Restriction], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other work runs while a flush's fan-out is under way, and every reader still gets
    their frame."""
    monkeypatch.setattr(activity, "CHUNK", 2 * activity.CONN_WORK)
    readers = [Conn(Actor(100 + i, f"r{i}", Role.MEMBER), []) for i in range(10)]
    ran = 0

    async def other() -> None:
        nonlocal ran
        while True:
            ran += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    await asyncio.sleep(0)
    before = ran
    await feed_of(readers, facts).flush({"theme-one": [note("theme-one", 1, "zoe")]})
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert ran - before >= 4
    assert all(len(r.outbound.offered) == 1 for r in readers)


async def test_a_flush_naps_at_its_yields_within_a_budget(
    facts: dict[tuple[int, int], Restriction], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each yield sleeps (so a thread waiting for the GIL gets it); past the budget only
    the short nap, so the frames are late by at most the budget for the slicing."""
    monkeypatch.setattr(activity, "CHUNK", activity.CONN_WORK)
    naps: list[float] = []

    async def sleep(delay: float) -> None:
        naps.append(delay)

    monkeypatch.setattr(activity, "asyncio", SimpleNamespace(sleep=sleep))
    readers = [Conn(Actor(100 + i, f"r{i}", Role.MEMBER), []) for i in range(200)]
    await feed_of(readers, facts).flush({"theme-one": [note("theme-one", 1, "zoe")]})
    assert len(naps) == 200 and all(nap > 0 for nap in naps)
    long_ = [nap for nap in naps if nap > activity.SHORT_NAP]
    assert 0 < sum(long_) < activity.NAP_BUDGET + activity.YIELD_NAP
    assert naps[len(long_) :] == [activity.SHORT_NAP] * (200 - len(long_))

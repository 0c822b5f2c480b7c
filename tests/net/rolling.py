"""A rolling upgrade under clients: releases, the roll of docs/reliability.md, its checks.

A release is a copy of this checkout's source in a folder of its own, run with PYTHONPATH
pointing at it (`Topology.release`): its packages come before this checkout's (the editable
install's finder comes after the path), and its `persistence/migrations/versions/` holds this
checkout's migrations and the release's own, chained on this checkout's head.

The product's code is the same in every release, so the writer of a release's schema form is
a trigger its migration installs (dual writes by trigger, as online schema change tools do):
what a roll tests is the processes, the migrations at start under the advisory lock while the
other host serves the older release on the newer schema, nginx and the clients; not a
particular data migration. The schema change, in expand/contract form, moves a message's
length in characters from the column `rolling_chars_old` to `rolling_chars` on `messages`,
the table every send writes:

    step 1  `rolling_chars_old`, written by the trigger `rolling_chars`
    step 2  expand: `rolling_chars` added (nullable), the trigger writes both, backfilled
    step 3  contract: the trigger writes only `rolling_chars`, `rolling_chars_old` dropped

`roll()` rolls a release over app1 and then app2, one `werkplaats serve` (both its workers)
at a time: drain the host in nginx and reload, SIGTERM the server and wait for it to exit,
start the new release (it migrates at start), wait for /readyz, undrain and reload. Then
every other client drops its connection, so that the clients spread over both hosts again
and both releases write in the same rooms at once.

`upgrade()` runs the load of tests/net/load.py and a few HTTP readers through nginx while it
rolls the given releases, and checks after each release the invariants of tests/net/load.py
(no acked message lost, none twice, no gaps, every client caught up and equal to the
database), and at the end that each client saw only reconnects (no error frame but the
retryable ones, closes only for a server going away, no refused session), that no HTTP read
was answered 5xx but 503 with Retry-After (retried then), that every server exited by itself
on SIGTERM, and that every message has the new form.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from alembic.script import ScriptDirectory

from persistence.migrate import alembic_config
from tests.net.load import Load, check_invariants, describe
from tests.net.topology import ROOT, Topology
from tests.ops.tls import client_context

PACKAGES = ("chat", "persistence", "rooms", "web")  # what the editable install maps


def _writer(*columns: str) -> str:
    sets = "".join(f"NEW.{c} = char_length(NEW.body); " for c in columns)
    return (
        "CREATE OR REPLACE FUNCTION rolling_chars() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {sets}RETURN NEW; END $$"
    )


@dataclass(frozen=True)
class Step:
    revision: str
    doc: str
    statements: tuple[str, ...]


STEPS = (
    Step(
        "rolling_1_old",
        "Release N: the old form, a message's length in `rolling_chars_old`.",
        (
            "ALTER TABLE messages ADD COLUMN rolling_chars_old integer",
            _writer("rolling_chars_old"),
            "CREATE TRIGGER rolling_chars BEFORE INSERT OR UPDATE OF body ON messages "
            "FOR EACH ROW EXECUTE FUNCTION rolling_chars()",
            "UPDATE messages SET rolling_chars_old = char_length(body)",
        ),
    ),
    Step(
        "rolling_2_expand",
        "Release N+1, expand: `rolling_chars` added, nullable; both forms written.",
        (
            "ALTER TABLE messages ADD COLUMN rolling_chars integer",
            _writer("rolling_chars_old", "rolling_chars"),
            # What processes of N wrote before this commit (the trigger above covers after).
            "UPDATE messages SET rolling_chars = rolling_chars_old WHERE rolling_chars IS NULL",
        ),
    ),
    Step(
        "rolling_3_contract",
        "Release N+2, contract: only `rolling_chars` written; the old form dropped.",
        (
            _writer("rolling_chars"),
            "ALTER TABLE messages DROP COLUMN rolling_chars_old",
        ),
    ),
)

TEMPLATE = '''"""{doc}"""

from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in {statements!r}:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("a test release")
'''


def product_head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


@dataclass(frozen=True)
class Release:
    path: Path  # the source tree, for PYTHONPATH
    steps: int  # how many of STEPS it migrates to

    @property
    def name(self) -> str:
        return STEPS[self.steps - 1].revision


def make_release(workdir: Path, steps: int) -> Release:
    """This checkout's source in a folder of `workdir`, with the first `steps` of STEPS as
    migrations."""
    folder = workdir / f"release-{steps}"
    for package in PACKAGES:
        # __pycache__ too: copy2 keeps the sources' times, so the compiled files stay valid.
        shutil.copytree(ROOT / package, folder / package)
    versions = folder / "persistence" / "migrations" / "versions"
    down = product_head()
    for step in STEPS[:steps]:
        text = TEMPLATE.format(
            doc=step.doc, revision=step.revision, down=down, statements=step.statements
        )
        (versions / f"{step.revision}.py").write_text(text)
        down = step.revision
    return Release(folder, steps)


READERS = 4  # clients that also page through a room over HTTP
RETRYABLE = {"unavailable", "rate_limited"}  # error codes a client may see and retry
# 1001/1012: the server went away or restarts; 1006: the connection ended without a close.
GOING_AWAY = {1001, 1006, 1012, None}


@dataclass
class Readers:
    """Clients paging through a room over HTTP through nginx; every answer's status counted."""

    topo: Topology
    tokens: list[str]
    rooms: list[str]
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # no answer: tried again
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self.read(i, t)) for i, t in enumerate(self.tokens)]

    async def read(self, number: int, token: str) -> None:
        room, after = self.rooms[number % len(self.rooms)], 0
        headers = {"Authorization": f"Bearer {token}"}
        tls = client_context(self.topo.cert)
        async with httpx.AsyncClient(verify=tls, timeout=15, headers=headers) as http:
            while True:
                try:
                    r = await http.get(
                        f"{self.topo.base}/api/rooms/{room}/events",
                        params={"after": after, "limit": 50},
                    )
                except httpx.HTTPError as exc:
                    self.failures[type(exc).__name__] += 1
                else:
                    self.statuses[r.status_code] += 1
                    if r.status_code == 503 and "Retry-After" not in r.headers:
                        self.statuses[-503] += 1  # a 503 that does not say when: a failure
                    if r.status_code == 200 and r.json()["events"]:
                        after = r.json()["events"][-1]["seq"]
                    if r.status_code == 503 and "Retry-After" in r.headers:
                        await asyncio.sleep(float(r.headers["Retry-After"]))  # as told
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class Turn:
    """One host's turn in a roll, for the report."""

    release: str
    host: str
    stopped: float = 0.0  # seconds from SIGTERM to the server's exit
    exit_code: int | None = None
    ready: float = 0.0  # seconds from the start (migration included) to /readyz 200


async def roll(topology: Topology, load: Load, release: Release, mixed: float) -> list[Turn]:
    """Roll the release over app1 and then app2, one `serve` at a time (the docs' step 2)."""
    topology.release = release.path
    turns = []
    for app in ("app1", "app2"):
        turn = Turn(release.name, app)
        await asyncio.to_thread(topology.reload_nginx, (app,))
        proc = topology.processes[app].proc
        began = time.monotonic()
        await asyncio.to_thread(topology.stop_app, app)
        turn.stopped, turn.exit_code = time.monotonic() - began, proc.returncode
        began = time.monotonic()
        topology.start_app(app)
        await asyncio.to_thread(topology.wait_ready, app)
        turn.ready = time.monotonic() - began
        await asyncio.to_thread(topology.reload_nginx)
        for client in list(load.clients.values())[::2]:
            await client.drop()
        await asyncio.sleep(mixed)  # both releases serve side by side
        turns.append(turn)
    return turns


async def schema(topology: Topology) -> tuple[str, set[str], int]:
    """The database's revision, its rolling_* columns, and the messages whose new form is
    not the message's length."""
    conn = await asyncpg.connect(topology.db_dsn, timeout=10)
    try:
        revision = await conn.fetchval("SELECT version_num FROM alembic_version")
        columns = {
            row["column_name"]
            for row in await conn.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'messages' AND column_name LIKE 'rolling_%'"
            )
        }
        wrong = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE rolling_chars IS DISTINCT FROM char_length(body)"
        )
    finally:
        await conn.close()
    return revision, columns, wrong


async def upgrade(load: Load, releases: list[Release], mixed: float) -> str:
    """Roll `releases` in turn under the load, check everything (module docstring); returns
    the figures."""
    topology = load.topo
    began = time.monotonic()
    await load.start()
    readers = Readers(topology, list(load.tokens.values())[:READERS], load.rooms)
    readers.start()
    turns: list[Turn] = []
    caught_up: list[float] = []
    try:
        await asyncio.sleep(mixed)
        for release in releases:
            turns += await roll(topology, load, release, mixed)
            caught_up.append(await check_invariants(load, release.name))
    finally:
        await readers.stop()
        await load.close()
    took = time.monotonic() - began

    for user, client in load.clients.items():
        errors = [f for f in client.frames if f.get("type") == "error"]
        assert all(f.get("code") in RETRYABLE for f in errors), (user, errors[:3])
        assert set(client.close_codes) <= GOING_AWAY, (user, describe(client))
        refused = [a for a in client.failed_attempts if a.startswith("HTTP 40")]
        assert not refused, (user, describe(client))
    # 503 with Retry-After (the database did not answer in time) is retried as it says.
    assert set(readers.statuses) <= {200, 503}, readers.statuses
    assert all(t.exit_code == 0 for t in turns), f"a server did not exit by itself: {turns}"
    revision, columns, wrong = await schema(topology)
    last = releases[-1].steps
    assert revision == STEPS[last - 1].revision
    assert columns == ({"rolling_chars"} if last == 3 else {"rolling_chars", "rolling_chars_old"})
    assert wrong == 0, f"{wrong} messages without the new form"

    reconnects = sorted(c.connects - 1 for c in load.clients.values())
    upgrades = Counter(
        a.split(" Retry")[0] for c in load.clients.values() for a in c.failed_attempts
    )
    lines = [
        f"{len(load.clients)} clients, {len(load.rooms)} rooms, {took:.0f} s: "
        f"{len(load.acks)} messages acked, none lost, none twice, no gaps",
        f"reconnects per client: min {reconnects[0]}, median {reconnects[len(reconnects) // 2]}, "
        f"max {reconnects[-1]} (the test's own drops: at most {len(turns)}); closes seen: "
        f"{dict(Counter(c and int(c) for cl in load.clients.values() for c in cl.close_codes))}",
        f"sends resent: {dict(load.refused)}; failed reconnect attempts: {dict(upgrades)}",
        f"HTTP reads: {dict(readers.statuses)}, without answer (tried again): "
        f"{dict(readers.failures)}",
        "caught up after each release: " + ", ".join(f"{c:.1f} s" for c in caught_up),
    ] + [
        f"{t.release} on {t.host}: SIGTERM to exit {t.stopped:.1f} s (exit {t.exit_code}), "
        f"start to /readyz {t.ready:.1f} s"
        for t in turns
    ]
    return "\n  ".join(lines)

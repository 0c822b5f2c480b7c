"""Search benchmark: a generated Dutch-like corpus over 50 rooms, on SQLite and PostgreSQL.

    .venv/bin/python bench/search_bench.py                     # 20 000 messages, both databases
    .venv/bin/python bench/search_bench.py --messages 1000000  # the full run

Measures, per backend: the indexing rate (bulk load of messages with the search index in
place: PostgreSQL computing the generated tsvector and GIN entries, SQLite stemming in
Python and filling FTS5 through the application's own index code), the index size, and
p50/p95 latency of typical searches made as an ordinary member (permission filter on,
relevance order, 20 hits with snippets) through `persistence.search.search`: one word;
two words with a room filter; a phrase; a prefix. Writes the table into the `## Search`
section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, text
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from persistence import search  # noqa: E402
from persistence.db import Database  # noqa: E402
from persistence.migrate import migrate  # noqa: E402
from persistence.models import Area, Membership, Message, Room, Theme, User  # noqa: E402
from persistence.search import postgres as pg_index  # noqa: E402
from persistence.search import sqlite as sqlite_index  # noqa: E402
from persistence.search.compounds import vocabulary as word_list  # noqa: E402
from persistence.search.index import set_parts_pg  # noqa: E402

PERFORMANCE_MD = ROOT / "docs" / "performance.md"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
BATCH = 5000

# The words of the Werkplaats's conversations, with some of their forms: these carry the
# queries. Around them a Zipf-distributed vocabulary of generated Dutch-like words.
DOMAIN = """
boer boeren boerderij boerderijen grond grondprijzen grondprijs pacht pachtprijzen water
waterschap waterschappen waterberging peil peilbesluit veenweide veenweiden bodemdaling
stikstof depositie natuur natura landbouw landbouwers melkveehouder melkvee koeien mest
mestbeleid uitrijden provincie provincies gemeente gemeenten rijk ministerie samenwerking
samenwerken samenwerkingen overleg bijeenkomst gebiedsproces gebiedsprogramma subsidie
subsidies regeling regelingen vergunning vergunningen plan plannen uitvoering kavelruil
kavel kavels rivier dijk dijken polder polders klimaat droogte verzilting zoetwater
drinkwater landschap erfgoed dorp dorpen bewoners inwoners draagvlak vertrouwen beleid
ambtenaar ambtenaren wethouder gedeputeerde dijkgraaf projectleider planning budget
financiering investering grondbank ruil ruilverkaveling weidevogels biodiversiteit
""".split()
STOP = "de het een en van in op te dat die is voor met niet aan er maar om ook als bij".split()
SYLLABLES = "ver be ge ont lan del wa ter bo den zui wei mo len ker ken dorp sta rij hof".split()
ENDINGS = ["", "", "en", "ing", "heid", "lijk", "te", "s", "er"]

ONE_WORD = [
    "stikstof",
    "grondprijzen",
    "waterschap",
    "samenwerking",
    "vergunning",
    "boerderij",
    "kavelruil",
    "weidevogels",
    "dijkgraaf",
    "verzilting",
]
TWO_WORDS = [
    "pacht boeren",
    "peil waterberging",
    "subsidie regeling",
    "natuur landbouw",
    "dijk rivier",
    "draagvlak bewoners",
]
PHRASES = ['"de boeren"', '"het waterschap"', '"een vergunning"', '"van de provincie"']
PREFIXES = ["grond*", "water*", "boer*", "subsid*", "verg*", "samenw*"]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words = set(DOMAIN)
    while len(words) < size:
        n = rng.choice((2, 2, 3, 3, 4))
        words.add("".join(rng.choice(SYLLABLES) for _ in range(n)) + rng.choice(ENDINGS))
    filler = sorted(words - set(DOMAIN))
    rng.shuffle(filler)
    domain = list(DOMAIN)
    rng.shuffle(domain)
    # The domain words at frequency ranks 20..~700: common enough to make typical queries
    # with thousands of hits at a million messages, as real topic words do.
    for i, word in enumerate(domain):
        filler.insert(20 + 5 * i, word)
    return filler


def bodies(n: int, seed: int = 7) -> Iterator[str]:
    """Messages of 4..60 words: Zipf-ish vocabulary, a third stop words, some capitals."""
    rng = random.Random(seed)
    vocab = vocabulary(rng, 20_000)
    weights = [1 / (rank + 10) for rank in range(len(vocab))]
    cum = list(_cumulative(weights))
    for _ in range(n):
        length = min(60, max(4, int(rng.expovariate(1 / 18))))
        picked = rng.choices(vocab, cum_weights=cum, k=length)
        out = [rng.choice(STOP) if rng.random() < 0.33 else w for w in picked]
        out[0] = out[0].capitalize()
        if rng.random() < 0.1:
            out.insert(rng.randrange(len(out)), "één")
        yield " ".join(out) + rng.choice(".!?.")


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


@dataclass
class Result:
    backend: str
    messages: int
    load_seconds: float
    index_bytes: int
    latencies: dict[str, list[float]]
    load: float  # the 1-minute load average after the queries: the machine is shared

    @property
    def rate(self) -> float:
        return self.messages / self.load_seconds


async def setup_community(db: Database, rooms: int) -> tuple[list[int], int]:
    """Half area rooms, half theme rooms, 200 users; returns room ids and a member's id."""
    async with db.write() as s:
        areas = rooms // 2
        for i in range(areas):
            await s.execute(insert(Area).values(id=i + 1, slug=f"area-{i}", name=f"Gebied {i}"))
        for i in range(rooms - areas):
            await s.execute(insert(Theme).values(id=i + 1, slug=f"theme-{i}", name=f"Thema {i}"))
        now = datetime.now(UTC)
        room_rows = [
            {
                "id": i + 1,
                "slug": f"area-{i}",
                "name": f"Gebied {i}",
                "kind": "area",
                "area_id": i + 1,
                "created_at": now,
            }
            for i in range(areas)
        ] + [
            {
                "id": areas + i + 1,
                "slug": f"theme-{i}",
                "name": f"Thema {i}",
                "kind": "theme",
                "theme_id": i + 1,
                "created_at": now,
            }
            for i in range(rooms - areas)
        ]
        await s.execute(insert(Room), room_rows)
        layers = ["rijk", "provincie", "gemeente", "waterschap", "overig"]
        await s.execute(
            insert(User),
            [
                {
                    "id": i + 1,
                    "username": f"user{i}",
                    "display_name": f"Gebruiker {i}",
                    "organisation": "Org",
                    "layer": layers[i % 5],
                    "role": "member",
                    "password_hash": None,
                    "created_at": now,
                }
                for i in range(200)
            ],
        )
        await s.execute(
            insert(Membership),
            [{"room_id": 1 + i % areas, "user_id": i + 1, "joined_at": now} for i in range(200)],
        )
    return [r["id"] for r in room_rows], 1


async def load(db: Database, n: int, room_ids: list[int]) -> float:
    """Bulk-load n messages in batches with the index in place; returns the seconds taken."""
    word_list()  # read the word list before the clock starts
    rng = random.Random(11)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    step = timedelta(days=3 * 365) / n
    seqs = dict.fromkeys(room_ids, 0)
    batch: list[dict[str, object]] = []
    elapsed = 0.0
    with tqdm(total=n, unit="msg", desc=f"load {db.dialect}", file=sys.stderr) as bar:
        for i, body in enumerate(bodies(n)):
            room = rng.choice(room_ids)
            seqs[room] += 1
            batch.append(
                {
                    "id": i + 1,
                    "room_id": room,
                    "seq": seqs[room],
                    "author_id": rng.randint(1, 200),
                    "client_id": f"b{i}",
                    "body": body,
                    "created_at": start + step * i,
                    "hidden": False,
                }
            )
            if len(batch) == BATCH or i == n - 1:
                t0 = time.perf_counter()
                pairs = [(m["id"], m["body"]) for m in batch]
                async with db.write() as s:
                    await s.execute(insert(Message), batch)
                    if db.is_sqlite:
                        await sqlite_index.put(s, pairs)  # type: ignore[arg-type]
                    else:
                        # The send path writes the compound parts in its insert; here after.
                        await set_parts_pg(s, pairs)  # type: ignore[arg-type]
                elapsed += time.perf_counter() - t0
                bar.update(len(batch))
                batch = []
    async with db.write() as s:
        if db.is_sqlite:
            await s.execute(text("INSERT INTO message_search(message_search) VALUES ('optimize')"))
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE messages"))
    return elapsed


async def index_size(db: Database) -> int:
    async with db.read() as s:
        if db.is_sqlite:
            return await sqlite_index.size_bytes(s)
        row = await s.execute(
            text(
                f"SELECT pg_relation_size('{pg_index.INDEX_NAME}')"
                " + (SELECT coalesce(sum(pg_column_size(search_vector))"
                " + sum(coalesce(pg_column_size(search_parts), 0)), 0) FROM messages)"
            )
        )
        return int(row.scalar_one())


async def measure(
    db: Database, user_id: int, room_ids: list[int], rounds: int
) -> dict[str, list[float]]:
    """Latency in ms of each kind of query, `rounds` times, after one warm-up round."""
    rng = random.Random(3)
    kinds: dict[str, Callable[[], tuple[str, int | None]]] = {
        "one word": lambda: (rng.choice(ONE_WORD), None),
        "two words + room": lambda: (rng.choice(TWO_WORDS), rng.choice(room_ids[25:])),
        "phrase": lambda: (rng.choice(PHRASES), None),
        "prefix": lambda: (rng.choice(PREFIXES), None),
    }
    out: dict[str, list[float]] = {k: [] for k in kinds}
    for round_ in range(rounds + 1):
        for kind, make in kinds.items():
            q, room = make()
            request = search.SearchRequest(search.parse(q), search.Filters(room_id=room), limit=20)
            t0 = time.perf_counter()
            async with db.read() as s:
                page = await search.search(s, user_id, request)
            ms = (time.perf_counter() - t0) * 1000
            if round_:
                out[kind].append(ms)
            assert page.hits is not None
    return out


async def run_backend(backend: str, n: int, rooms: int, rounds: int, keep: bool) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix="wp-bench-"))
    pg_name = f"wp_bench_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    else:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'CREATE DATABASE "{pg_name}"')
        await conn.close()
        url = PG_URL.format(name=pg_name)
    # No statement timeout: VACUUM ANALYZE of a million rows takes minutes on a busy host.
    db = Database(url, command_timeout=None)
    try:
        await migrate(db.engine)
        room_ids, member = await setup_community(db, rooms)
        seconds = await load(db, n, room_ids)
        size = await index_size(db)
        latencies = await measure(db, member, room_ids, rounds)
        return Result(backend, n, seconds, size, latencies, os.getloadavg()[0])
    finally:
        await db.dispose()
        if backend == "postgres" and not keep:
            conn = await asyncpg.connect(PG_ADMIN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await conn.close()
        elif keep:
            print(f"kept: {url}", file=sys.stderr)


def pct(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def table(results: list[Result]) -> str:
    lines = [
        "| backend | messages | indexing rate | index size | load avg | query | p50 | p95 |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        for i, (kind, values) in enumerate(r.latencies.items()):
            head = (
                f"| {r.backend} | {r.messages:,} | {r.rate:,.0f} msg/s | "
                f"{r.index_bytes / 2**20:,.1f} MiB | {r.load:.1f}"
                if i == 0
                else "| | | | | "
            )
            lines.append(f"{head} | {kind} | {pct(values, 50):.1f} ms | {pct(values, 95):.1f} ms |")
    return "\n".join(lines)


def _replace_block(lines: list[str], heading: str, body: list[str], level: str) -> list[str]:
    """Replace the block under `heading` (up to the next heading of its level or higher)."""
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        return [*lines, "", *body]
    stops = ("## ",) if level == "##" else ("## ", "### ")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(stops)), len(lines))
    return [*lines[:start], *body, "", *lines[end:]]


def write_section(size_heading: str, body: str) -> None:
    """Put a run's table under `## Search` / `### <size>` of docs/performance.md.

    Other sections, and the tables of other corpus sizes, are left as they are.
    """
    text_ = PERFORMANCE_MD.read_text() if PERFORMANCE_MD.exists() else "# Performance\n"
    lines = text_.rstrip().splitlines()
    if "## Search" not in (line.strip() for line in lines):
        lines = _replace_block(lines, "## Search", INTRO.strip().splitlines(), "##")
    start = lines.index("## Search")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    section = _replace_block(lines[start:end], size_heading, body.strip().splitlines(), "###")
    new = [*lines[:start], *section, *lines[end:]]
    PERFORMANCE_MD.write_text("\n".join(new).rstrip() + "\n")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--rooms", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=50, help="queries of each kind to time")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    ap.add_argument("--no-write", action="store_true", help="print, do not touch performance.md")
    args = ap.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = [
        await run_backend(b, args.messages, args.rooms, args.rounds, args.keep) for b in backends
    ]
    out = table(results)
    print(out)
    if not args.no_write:
        heading = f"### {args.messages:,} messages"
        write_section(
            heading,
            f"{heading}\n\nMeasured {datetime.now(UTC):%Y-%m-%d}, {args.rounds} queries of each kind"
            f" (`bench/search_bench.py --messages {args.messages}"
            f"{'' if args.backend == 'both' else ' --backend ' + args.backend}`).\n\n{out}",
        )
        print(f"written to {PERFORMANCE_MD}", file=sys.stderr)


INTRO = """
## Search

`bench/search_bench.py` generates a Dutch-like corpus (messages of 4..60 words from a Zipf
vocabulary of 20 000 words in which the Werkplaats's topic words rank 20..700, a third
stop words) over 50 rooms (25 area, 25 theme), on this machine (2 shared cores). Each
query runs as an ordinary member (permission filter on), relevance order, 20 hits with
snippets, through `persistence.search.search` (no HTTP): one word; two words with a
room filter; a phrase; a prefix. Indexing rate: bulk load of messages with the index in
place (PostgreSQL computing the generated tsvector and GIN entries; SQLite stemming in
Python and filling FTS5 through the application's own index code). Index size:
PostgreSQL the GIN index plus the `search_vector` column; SQLite the FTS5 tables.
"""


if __name__ == "__main__":
    asyncio.run(main())

"""Public pages benchmark: /openbaar with 1,000 published publications, on SQLite and PostgreSQL.

    .venv/bin/python bench/public_bench.py                 # 1 000 publications, both databases
    .venv/bin/python bench/public_bench.py --publications 5000 --backend sqlite

Loads a fresh database with published lesson cards (each quoting one or two messages, its
authors consenting), then times requests through the whole app in this process (ASGI,
no socket): the list's first and a middle page, a search, two filters together, one
publication and the Atom feed, each answered in full (no If-None-Match). Prints p50/p95
and writes them under `## Public pages` of docs/performance.md (the issue's target: p95
under 50 ms). Timings are reported here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search_bench import DOMAIN, PERFORMANCE_MD, _replace_block, pct  # noqa: E402
from persistence.db import Database  # noqa: E402
from persistence.migrate import migrate  # noqa: E402
from persistence.models import (  # noqa: E402
    Area,
    Message,
    Publication,
    PublicationAuthor,
    PublicationQuote,
    Room,
    User,
)
from web.app import create_app  # noqa: E402
from web.settings import Settings  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
LAYERS = ("rijk", "provincie", "gemeente", "waterschap", "overig")
THEMES = ("Water en bodem", "Samenwerken", "Natuur", "Landbouw", "Wonen", "Energie")
AREAS = ("Friese veenweiden", "Zuidwestelijke delta", "Zandgronden", "Rivierengebied")
WORDS = list(DOMAIN)
USERS = 500


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


async def load(db: Database, n: int, seed: int = 11) -> None:
    """A room, 20 authors, `n` messages and `n` published publications quoting them."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    async with db.write() as s:
        area = Area(slug="bench-area", name="Bench-gebied")
        s.add(area)
        await s.flush()
        room = Room(slug="bench-area", name="Bench-gebied", kind="area", area_id=area.id)
        s.add(room)
        # 20 authors among 500 accounts: the public pages reduce every known name in the
        # text they show (rooms/redact.py), so the number of accounts is part of the cost.
        first = ("Anna", "Sjoerd", "Pieter", "Fenna", "Hidde", "Marije", "Jelle", "Tjitske")
        last = ("de Vries", "Bakker", "Visser", "Hoekstra", "van der Meer", "Dijkstra", "Smit")
        users = [
            User(
                username=f"auteur{i}",
                display_name=f"{first[i % 8]} {last[i % 7]} {i}",
                organisation=f"Organisatie {i % 7}",
                layer=LAYERS[i % len(LAYERS)],
                password_hash=None,
            )
            for i in range(USERS)
        ]
        s.add_all(users)
        await s.flush()
        messages = [
            {
                "room_id": room.id,
                "seq": i + 1,
                "author_id": users[i % 20].id,
                "client_id": f"b{i}",
                "body": sentence(rng, rng.randint(8, 40)),
                "created_at": now - timedelta(hours=n - i),
            }
            for i in range(n)
        ]
        await s.execute(insert(Message), messages)
        room.last_seq = n
        ids = [m.id for m in (await s.execute(Message.__table__.select())).all()]
        pubs = []
        for i in range(n):
            body, worked = sentence(rng, 40), sentence(rng, 20)
            title = sentence(rng, 6)
            layers = sorted(rng.sample(LAYERS, rng.randint(1, 3)))
            pubs.append(
                {
                    "kind": "lesson",
                    "status": "published",
                    "title": title,
                    "body": body,
                    "worked": worked,
                    "theme": THEMES[i % len(THEMES)],
                    "area": AREAS[i % len(AREAS)],
                    "layers": "," + ",".join(layers) + ",",
                    "search_text": f"{title}\n{body}\n{worked}".lower(),
                    "room_id": room.id,
                    "created_by_id": users[0].id,
                    "published_at": now - timedelta(hours=n - i),
                }
            )
        await s.execute(insert(Publication), pubs)
        pub_ids = [p.id for p in (await s.execute(Publication.__table__.select())).all()]
        authors, quotes = [], []
        for k, pid in enumerate(pub_ids):
            mid = ids[k]
            author = users[k % 20].id
            authors.append(
                {"publication_id": pid, "user_id": author, "consent": True, "show_name": k % 2 == 0}
            )
            quotes.append(
                {
                    "publication_id": pid,
                    "position": 1,
                    "message_id": mid,
                    "author_id": author,
                    "body": messages[k]["body"],
                    "written_at": now,
                }
            )
        await s.execute(insert(PublicationAuthor), authors)
        await s.execute(insert(PublicationQuote), quotes)


async def measure(url: str, n: int, rounds: int) -> dict[str, list[float]]:
    app = create_app(Settings(database_url=url, secret_key="bench-secret-key-0123456789abcdef"))
    paths = {
        "list, first page": "/openbaar",
        "list, page 25": "/openbaar?page=25",
        "search, one word": f"/openbaar?q={WORDS[3]}",
        "theme + layer": f"/openbaar?theme={THEMES[1]}&layer=gemeente",
        "one publication": f"/openbaar/{n // 2}",
        "Atom feed (50)": "/openbaar/feed.xml",
    }
    found: dict[str, list[float]] = {k: [] for k in paths}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, path in paths.items():
                for i in range(rounds + 5):
                    start = time.perf_counter()
                    r = await client.get(path)
                    took = (time.perf_counter() - start) * 1000
                    assert r.status_code == 200, (path, r.status_code)
                    if i >= 5:  # warm-up: templates compiled, statements cached
                        found[name].append(took)
    return found


async def run_backend(backend: str, n: int, rounds: int) -> dict[str, list[float]]:
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="public-bench-")
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        pg_name = None
    else:
        pg_name = f"wp_public_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'CREATE DATABASE "{pg_name}"')
        await conn.close()
        url = PG_URL.format(name=pg_name)
    db = Database(url)
    try:
        await migrate(db.engine)
        await load(db, n)
    finally:
        await db.dispose()
    try:
        return await measure(url, n, rounds)
    finally:
        if pg_name is not None:
            conn = await asyncpg.connect(PG_ADMIN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await conn.close()


TARGET_MS = 50


def load_average() -> str:
    """The machine's load as `uptime` prints it (1, 5 and 15 minutes)."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def table(results: dict[str, dict[str, list[float]]]) -> str:
    lines = ["| backend | page | p50 | p95 |", "|---|---|---:|---:|"]
    for backend, pages in results.items():
        for i, (name, values) in enumerate(pages.items()):
            lines.append(
                f"| {backend if i == 0 else ''} | {name} | "
                f"{pct(values, 50):.1f} ms | {pct(values, 95):.1f} ms |"
            )
    return "\n".join(lines)


def write_section(body: str) -> None:
    """Put the table under `## Public pages` of docs/performance.md, the rest unchanged."""
    text = PERFORMANCE_MD.read_text() if PERFORMANCE_MD.exists() else "# Performance\n"
    lines = _replace_block(text.rstrip().splitlines(), "## Public pages", body.splitlines(), "##")
    PERFORMANCE_MD.write_text("\n".join(lines).rstrip() + "\n")


async def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--publications", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=200, help="requests of each page to time")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--no-write", action="store_true", help="print, do not touch performance.md")
    args = ap.parse_args()
    os.environ.setdefault("WERKPLAATS_LOG_LEVEL", "WARNING")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    load_before = load_average()
    results = {b: await run_backend(b, args.publications, args.rounds) for b in backends}
    out = table(results)
    worst = max(pct(v, 95) for pages in results.values() for v in pages.values())
    verdict = f"Slowest p95: {worst:.1f} ms, " + (
        "within the target." if worst < TARGET_MS else "over the target."
    )
    print(out)
    print(verdict)
    if not args.no_write:
        write_section(
            f"## Public pages\n\n`bench/public_bench.py` (`make bench-public`; also run by"
            f" `make bench`), measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC:"
            f" {args.publications:,} published publications, {USERS} accounts,"
            f" {args.rounds} requests of each page through the app in-process (no socket),"
            f" {os.cpu_count()} cores shared with other work; load average (`uptime`, 1/5/15"
            f" min) {load_before} before and {load_average()} after. Target: p95 under"
            f" {TARGET_MS} ms. {verdict} On a loaded machine the figures are upper bounds;"
            f" run it on a quiet one to judge the target.\n\n{out}"
        )
        print(f"written to {PERFORMANCE_MD}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())

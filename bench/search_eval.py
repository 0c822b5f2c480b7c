"""Search quality on a judged Dutch set: recall@10 and nDCG@10, before and after compounds.

    .venv/bin/python -m bench.search_eval            # both databases
    .venv/bin/python -m bench.search_eval --backend sqlite

The set (bench/search_eval.toml) is messages with the queries a person judged each one
relevant to: compounds and their parts, linking letters, glossary terms, words that look
like parts but are not ("verkeer" is no "keer", "stikstof" no "stof"), spelling variants
the word list knows both of, numbers as words and digits. The demo's messages and generated
Dutch-like filler (bench/search_bench.py) are added as distractors. "before" indexes
without the word list and the numbers and searches without the glossary: the analysis
as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search_bench import PG_ADMIN, PG_URL, bodies, setup_community  # noqa: E402
from persistence import search  # noqa: E402
from persistence.db import Database  # noqa: E402
from persistence.migrate import migrate  # noqa: E402
from persistence.models import Message  # noqa: E402
from persistence.search import compounds, glossary, index  # noqa: E402

SET = Path(__file__).with_name("search_eval.toml")
DEMO = ROOT / "web" / "demo" / "messages.toml"
FILLER = 2000
NUMBERS, DIGITS = compounds.NUMBERS, compounds.DIGITS
K = 10


@dataclass(frozen=True)
class Scores:
    backend: str
    mode: str
    queries: int
    recall: float
    ndcg: float


def load_set() -> tuple[list[tuple[str, str]], dict[str, set[str]], list[glossary.Entry]]:
    data = tomllib.loads(SET.read_text(encoding="utf-8"))
    docs = [(m["key"], m["body"]) for m in data["message"]]
    judged: dict[str, set[str]] = {}
    for m in data["message"]:
        for q in m["relevant"]:
            judged.setdefault(q, set()).add(m["key"])
    entries = [glossary.Entry(g["term"], g["means"]) for g in data["glossary"]]
    demo = tomllib.loads(DEMO.read_text(encoding="utf-8"))["message"]
    docs += [(f"demo-{i}", m["body"]) for i, m in enumerate(demo)]
    docs += [(f"filler-{i}", b) for i, b in enumerate(bodies(FILLER, seed=5))]
    return docs, judged, entries


def ndcg(ranked: list[str], relevant: set[str]) -> float:
    gain = sum(1 / math.log2(i + 2) for i, k in enumerate(ranked[:K]) if k in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(K, len(relevant))))
    return gain / ideal


async def run(backend: str, mode: str) -> Scores:
    docs, judged, entries = load_set()
    if mode == "before":
        compounds.vocabulary.cache_clear()
        compounds.DICTIONARY = Path("/nonexistent/nl.dic")
        compounds.NUMBERS, compounds.DIGITS = {}, {}  # numbers were words only, too
    else:
        compounds.DICTIONARY = Path("/usr/share/hunspell/nl.dic")
        compounds.NUMBERS, compounds.DIGITS = NUMBERS, DIGITS
    compounds.vocabulary.cache_clear()
    compounds.parts.cache_clear()
    tmp = Path(tempfile.mkdtemp(prefix="wp-eval-"))
    name = f"wp_eval_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/eval.db"
    else:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = PG_URL.format(name=name)
    db = Database(url)
    try:
        await migrate(db.engine)
        room_ids, member = await setup_community(db, 2)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        keys = {}
        rows = []
        for i, (key, body) in enumerate(docs):
            keys[i + 1] = key
            rows.append({
                "id": i + 1, "room_id": room_ids[1], "seq": i + 1, "author_id": 2,
                "client_id": f"e{i}", "body": body, "hidden": False,
                "created_at": start + timedelta(minutes=i),
            })  # fmt: skip
        async with db.write() as s:
            await s.execute(insert(Message), rows)
        await index.reindex(db)
        recall = gain = 0.0
        for q, relevant in sorted(judged.items()):
            query = search.parse(q)
            if mode == "after":
                query = glossary.expand(query, entries)
            req = search.SearchRequest(query, search.Filters(), limit=K)
            async with db.read() as s:
                page = await search.search(s, member, req)
            ranked = [keys[h.message_id] for h in page.hits]
            recall += len(relevant & set(ranked)) / len(relevant)
            gain += ndcg(ranked, relevant)
        n = len(judged)
        return Scores(backend, mode, n, recall / n, gain / n)
    finally:
        await db.dispose()
        if backend == "postgres":
            conn = await asyncpg.connect(PG_ADMIN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(f"| database | analysis | queries | recall@{K} | nDCG@{K} |")
    print("|---|---|---:|---:|---:|")
    for backend in backends:
        for mode in ("before", "after"):
            s = await run(backend, mode)
            print(f"| {s.backend} | {s.mode} | {s.queries} | {s.recall:.3f} | {s.ndcg:.3f} |")


if __name__ == "__main__":
    asyncio.run(main())

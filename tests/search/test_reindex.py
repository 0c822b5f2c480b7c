"""Rebuilding the index: `reindex` and `werkplaats reindex`, on both databases."""

from __future__ import annotations

import os
import subprocess

from sqlalchemy import text

from persistence.search import reindex
from tests.helpers import ROOT, WERKPLAATS
from tests.search.conftest import Corpus


async def test_reindex_restores_a_lost_index_and_keeps_hidden_out(corpus: Corpus) -> None:
    """After reindex every visible message is found again; hidden ones stay out."""
    kept = await corpus.post("theme-one", "ann", "Waterberging in de polder.")
    gone = await corpus.post("theme-one", "ann", "Waterberging, maar verborgen.")
    await corpus.hide(gone)
    if corpus.db.is_sqlite:
        async with corpus.db.write() as session:
            await session.execute(text("DELETE FROM message_search"))
        assert await corpus.ids("bob", "waterberging") == set()
    seen: list[int] = []
    assert await reindex(corpus.db, progress=seen.append, batch=1) == 2
    assert sum(seen) == 2
    assert await corpus.ids("bob", "waterberging") == {kept}


def test_reindex_command_prints_progress_and_a_summary(db_url: str) -> None:
    """`werkplaats reindex` exits 0, shows a tqdm bar on stderr and a count on stdout."""
    r = subprocess.run(
        [WERKPLAATS, "reindex"],
        env={**os.environ, "WERKPLAATS_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert "search index rebuilt for 0 messages" in r.stdout
    assert "reindex" in r.stderr

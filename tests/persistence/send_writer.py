"""Run as a separate OS process: many concurrent sends through one group commit (or, with
a sixth argument `serial`, one send at a time). `run_all` starts several at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from chat.frames import Author
from chat.groupcommit import GroupCommit
from chat.store import SendRequest
from persistence.accounts import actor_for, user_by_name
from persistence.db import Database
from web.wire import author_wire


async def main(
    url: str, rooms: str, username: str, count: int, tag: str, serial: bool = False
) -> None:
    db = Database(url)
    commit = GroupCommit(db)
    try:
        async with db.read() as session:
            user = await user_by_name(session, username)
            assert user is not None
            actor = await actor_for(session, user)
            author = Author(**author_wire(user))
        slugs = rooms.split(",")
        # Every tenth send repeats the client_id of the one before it.
        reqs = [
            SendRequest(
                actor,
                author,
                slugs[i // 10 % len(slugs)],
                f"{tag} {i}",
                f"{tag}-{i - i % 10 // 9}",
                None,
            )
            for i in range(count)
        ]
        if serial:
            for r in reqs:
                await commit.post(r)
        else:
            await asyncio.gather(*(commit.post(r) for r in reqs))
        await commit.close()
    finally:
        await db.dispose()


async def run_all(writers: list[list[str]], timeout: float = 120) -> None:
    """One writer process per argument list, all at once, forked from the pytest worker's
    preloaded process (`tests/forkserver.py`) where it can: a fresh interpreter spends
    seconds importing before its first send. Each must exit 0; else its output is shown."""
    from tests import forkserver
    from tests.helpers import ROOT as root

    with tempfile.TemporaryDirectory() as tmp:
        logs = [Path(tmp) / f"writer-{n}.log" for n in range(len(writers))]
        procs: list[forkserver.Forked | subprocess.Popen[bytes]] = []
        for args, log in zip(writers, logs, strict=True):
            forked = forkserver.spawn(args, dict(os.environ), root, log, module=__spec__.name)
            procs.append(forked if forked is not None else _fresh(args, root, log))
        codes = [await asyncio.to_thread(p.wait, timeout) for p in procs]
        failed = {n: logs[n].read_text()[-2000:] for n, code in enumerate(codes) if code != 0}
        assert not failed, failed


def _fresh(args: list[str], root: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", __spec__.name, *args], cwd=root, stdout=out, stderr=out
        )


if __name__ == "__main__":
    asyncio.run(
        main(
            sys.argv[1],
            sys.argv[2],
            sys.argv[3],
            int(sys.argv[4]),
            sys.argv[5],
            sys.argv[6:7] == ["serial"],
        )
    )

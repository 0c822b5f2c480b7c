"""A client whose `since` lies beyond the room's last_seq (a restored database) is told so."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from chat.client import Client
from tests.helpers import Templates, login, make_settings, running_server

pytestmark = pytest.mark.timeout(30)
ROOM = "theme-one"


async def test_since_beyond_last_seq_answers_reset_and_the_client_goes_on_from_there(
    templates: Templates, tmp_path: Path
) -> None:
    """`subscribed` says `reset`; the client drops what it had past last_seq; the next event
    (which takes a seq it had seen) arrives as neither a duplicate nor a gap."""
    url = await templates.sqlite(tmp_path / "test.db")
    async with running_server(make_settings(url)) as base, httpx.AsyncClient() as http:
        token = await login(http, base, "ann")
        async with Client(base, token) as client:
            first = await client.subscribe(ROOM, since=0)
            last = first["last_seq"]
            assert "reset" not in first  # only when it applies
            # As after a restore: the client saw seqs the database no longer has.
            client.last_seq[ROOM] = last + 5
            client.events.setdefault(ROOM, []).append({"seq": last + 5, "type": "message"})
            again = await client.subscribe(ROOM)
            assert again["reset"] is True and again["last_seq"] == last
            assert client.last_seq[ROOM] == last and len(client.resets) == 1
            assert all(e["seq"] <= last for e in client.events[ROOM])
            ack = await client.send(ROOM, "after the restore")
            assert ack["seq"] == last + 1
            await client.wait_seq(ROOM, ack["seq"])
            assert not client.duplicates and not client.gaps

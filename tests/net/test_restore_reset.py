"""A client whose `since` lies beyond the room's last_seq (a restored database) is told so."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from chat.client import Client
from persistence.backup import advance_seqs
from tests.helpers import Templates, login, make_settings, running_server

pytestmark = pytest.mark.timeout(30)
ROOM = "theme-one"
MARGIN = 1000


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


async def test_restore_moves_seqs_on_so_none_is_used_again(
    templates: Templates, tmp_path: Path
) -> None:
    """`werkplaats restore`'s last step (`advance_seqs`): a `restored` event MARGIN past the
    restored last_seq, and the next send after it. A client that saw seqs the backup lacks
    is told (`reset`, and the event says where the history stops) and drops them; a client
    that did not sees the jump as no gap; unread counts ignore the skipped seqs."""
    url = await templates.sqlite(tmp_path / "test.db")
    async with running_server(make_settings(url)) as base, httpx.AsyncClient() as http:
        token = await login(http, base, "amy")
        async with Client(base, token) as amy:
            await amy.subscribe(ROOM, since=0)
            restored = (await amy.send(ROOM, "before the backup"))["seq"]  # the backup's last
    assert await advance_seqs(url, MARGIN) > 0
    async with running_server(make_settings(url)) as base, httpx.AsyncClient() as http:
        token = await login(http, base, "ann")
        async with Client(base, token) as ahead, Client(base, token) as behind:
            hello = ahead.hello or {}
            room = next(r for r in hello["rooms"] if r["slug"] == ROOM)
            assert room["last_seq"] == restored + MARGIN
            # Every event up to the restored seq was there before; one more is no message.
            first = await behind.subscribe(ROOM, since=0)
            assert first["last_seq"] == restored + MARGIN and "reset" not in first
            assert room["unread"] <= restored  # not MARGIN more: the skipped seqs are no messages
            marker = behind.events[ROOM][-1]
            assert marker == {
                "type": "restored", "room": ROOM, "seq": restored + MARGIN, "after": restored
            }  # fmt: skip
            # As after the loss: this client saw seqs (of events now gone) past the backup.
            await ahead.subscribe(ROOM, since=0)
            ahead.events[ROOM] += [{"seq": restored + k, "type": "message"} for k in (1, 2, 3)]
            ahead.last_seq[ROOM] = restored + 3
            again = await ahead.subscribe(ROOM)
            assert again["reset"] is True and len(ahead.resets) == 1
            assert [e["seq"] for e in ahead.events[ROOM]][-2:] == [restored, restored + MARGIN]
            ack = await ahead.send(ROOM, "after the restore")
            assert ack["seq"] == restored + MARGIN + 1  # never a seq handed out before
            for client in (ahead, behind):
                await client.wait_seq(ROOM, ack["seq"])
                assert not client.duplicates and not client.gaps
            assert [e["seq"] for e in ahead.events[ROOM]] == [e["seq"] for e in behind.events[ROOM]]

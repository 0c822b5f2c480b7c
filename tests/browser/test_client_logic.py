"""The client's own logic, run as ES modules inside chromium (no server frames needed):
event application without duplicates or disorder, snippet marks, and link making."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Tab

pytestmark = pytest.mark.browser


def run(tab: Tab, body: str) -> Any:
    """Evaluate `body` (an async function body) with the client's modules imported.

    The function text goes through the DevTools protocol: the page's CSP forbids eval.
    """
    return tab.page.evaluate(
        "async () => {\n"
        "const store = await import('/static/js/store.js');\n"
        "const format = await import('/static/js/format.js');\n"
        f"{body}\n}}"
    )


@pytest.fixture
def tab(open_tab) -> Tab:
    t: Tab = open_tab()
    t.page.get_by_label("Gebruikersnaam").wait_for()
    return t


def test_events_apply_once_and_in_seq_order(tab: Tab) -> None:
    """Replays and out-of-order arrival never duplicate or disorder messages."""
    result = run(
        tab,
        """
        const t = new store.Timeline('r');
        t.lastSeq = 0; t.loaded = true;
        const m = (seq) => ({type: 'message', room: 'r', seq, message_id: 100 + seq,
            author: {username: 'a'}, body: 'b' + seq, created_at: '2026-11-28T10:00:00Z'});
        const results = [m(1), m(3), m(2), m(2), m(1), m(4)].map((e) => t.apply(e));
        return {seqs: t.messages.map((x) => x.seq), last: t.lastSeq,
                dup: results.map((r) => r === null), gap: results[1].gap};
        """,
    )
    assert result["seqs"] == [1, 2, 3, 4]
    assert result["last"] == 4
    assert result["dup"] == [False, False, False, True, True, False]
    assert result["gap"] is True


def test_the_seqs_a_restore_skipped_are_no_gap(tab: Tab) -> None:
    """A `restored` event (`werkplaats restore`) follows on its `after`: no backfill, and the
    tab's position moves past the skipped seqs."""
    result = run(
        tab,
        """
        const t = new store.Timeline('r');
        t.lastSeq = 0; t.loaded = true;
        const m = (seq) => ({type: 'message', room: 'r', seq, message_id: 100 + seq,
            author: {username: 'a'}, body: 'b' + seq, created_at: '2026-11-28T10:00:00Z'});
        const results = [m(1), m(2), {type: 'restored', room: 'r', seq: 1002, after: 2}, m(1003)]
            .map((e) => t.apply(e));
        return {seqs: t.messages.map((x) => x.seq), last: t.lastSeq,
                gaps: results.map((r) => r.gap)};
        """,
    )
    assert result == {"seqs": [1, 2, 1003], "last": 1003, "gaps": [False] * 4}


def test_hidden_wins_over_edits(tab: Tab) -> None:
    """A hidden message stays hidden whatever edit arrives; replays show current state."""
    result = run(
        tab,
        """
        const t = new store.Timeline('r');
        t.loaded = true;
        t.apply({type: 'message', seq: 1, message_id: 7, author: {username: 'a'},
                 body: 'eerst', created_at: '2026-11-28T10:00:00Z'});
        t.apply({type: 'message_edited', seq: 2, message_id: 7, body: 'later',
                 edited_at: '2026-11-28T10:01:00Z'});
        const edited = t.byId.get('7').body;
        t.apply({type: 'message_hidden', seq: 3, message_id: 7, by: 'a', reason: null});
        t.apply({type: 'message_edited', seq: 4, message_id: 7, body: 'stiekem',
                 edited_at: '2026-11-28T10:02:00Z'});
        const after = t.byId.get('7');
        const t2 = new store.Timeline('s');
        t2.apply({type: 'message', seq: 5, message_id: 8, author: {username: 'b'},
                  body: null, hidden: true, created_at: '2026-11-28T10:00:00Z'});
        return {edited, body: after.body, hidden: after.hidden, retracted: after.retracted,
                replayHidden: t2.byId.get('8').hidden};
        """,
    )
    assert result == {
        "edited": "later",
        "body": None,
        "hidden": True,
        "retracted": True,
        "replayHidden": True,
    }


def test_ack_before_or_after_the_message(tab: Tab) -> None:
    """A pending send goes away once both its ack and its message are in, in any order."""
    result = run(
        tab,
        """
        const t = new store.Timeline('r');
        t.loaded = true;
        t.pending.set('c1', {client_id: 'c1', room: 'r', body: 'x', reply_to: null,
                             status: 'pending', error: null, sentAt: 0});
        t.pending.set('c2', {client_id: 'c2', room: 'r', body: 'y', reply_to: null,
                             status: 'pending', error: null, sentAt: 0});
        t.acknowledge({client_id: 'c1', message_id: 1, seq: 1});
        const waiting = t.pending.has('c1');
        t.apply({type: 'message', seq: 1, message_id: 1, client_id: 'c1',
                 author: {username: 'me'}, body: 'x', created_at: '2026-11-28T10:00:00Z'});
        t.apply({type: 'message', seq: 2, message_id: 2, client_id: 'c2',
                 author: {username: 'me'}, body: 'y', created_at: '2026-11-28T10:00:00Z'});
        t.acknowledge({client_id: 'c2', message_id: 2, seq: 2});
        return {waiting, left: t.pending.size, count: t.messages.length};
        """,
    )
    assert result == {"waiting": True, "left": 0, "count": 2}


def test_snippet_marks_are_elements_not_markup(tab: Tab) -> None:
    """U+E000…U+E001 become <mark>; markup in a snippet stays text."""
    result = run(
        tab,
        """
        const el = document.createElement('p');
        el.appendChild(format.snippetNodes('de \\uE000mandaat\\uE001 en <b>\\uE000peil'));
        return {marks: [...el.querySelectorAll('mark')].map((m) => m.textContent),
                bold: el.querySelectorAll('b').length, text: el.textContent};
        """,
    )
    assert result == {"marks": ["mandaat", "peil"], "bold": 0, "text": "de mandaat en <b>peil"}


def test_only_http_links_become_anchors(tab: Tab) -> None:
    """http(s) URLs become safe links without trailing punctuation; other schemes stay text."""
    result = run(
        tab,
        """
        const el = document.createElement('div');
        el.appendChild(format.messageText(
            'Zie https://www.example.nl/a_(b). en javascript:alert(1) of http://x.test/?q=1,'));
        return [...el.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.rel, a.target]);
        """,
    )
    assert result == [
        ["https://www.example.nl/a_(b", "noopener noreferrer", "_blank"],
        ["http://x.test/?q=1", "noopener noreferrer", "_blank"],
    ]


def test_a_window_trims_either_end_and_notes_what_lies_beyond(tab: Tab) -> None:
    """The timeline is a window (views/window.js): trimming the end makes live messages
    past it `beyond` (noted, not held) while changes to held ones still apply; trimming
    the start past a gap being filled starts the held range gap-free at the cut."""
    result = run(
        tab,
        """
        const m = (seq) => ({type: 'message', room: 'r', seq, message_id: 100 + seq,
            author: {username: 'a'}, body: 'b' + seq, created_at: '2026-11-28T10:00:00Z'});
        const t = new store.Timeline('r');
        t.lastSeq = 0; t.loaded = true;
        for (let s = 1; s <= 10; s += 1) t.apply(m(s), true);
        t.trimEnd(4);
        const afterEnd = {seqs: t.messages.map((x) => x.seq), last: t.lastSeq,
                          more: t.hasMoreAfter};
        const beyond = t.apply(m(11), true);
        const edit = t.apply({type: 'message_edited', room: 'r', seq: 12, message_id: 103,
                              body: 'nieuw', edited_at: '2026-11-28T11:00:00Z'}, true);
        const page = t.apply(m(7), false);

        const u = new store.Timeline('s');
        u.lastSeq = 0; u.loaded = true;
        for (const s of [1, 2, 6, 7, 8, 9]) u.apply(m(s), true);
        u.trimStart(3);
        const late = u.apply(m(3), true);
        return {afterEnd, beyond: beyond.kind, held: t.messages.length,
                edit: edit.kind, body: t.byId.get('103').body, page: page.kind,
                u: {seqs: u.messages.map((x) => x.seq), first: u.firstSeq, last: u.lastSeq,
                    before: u.hasMoreBefore, late: late.kind, held: u.messages.length}};
        """,
    )
    assert result["afterEnd"] == {"seqs": [1, 2, 3, 4, 5, 6], "last": 6, "more": True}
    assert result["beyond"] == "beyond"
    assert result["edit"] == "changed" and result["body"] == "nieuw"
    assert result["page"] == "added"
    assert result["held"] == 7
    assert result["u"] == {
        "seqs": [7, 8, 9],
        "first": 7,
        "last": 9,
        "before": True,
        "late": "other",
        "held": 3,
    }

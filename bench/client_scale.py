"""The web client at scale, in Debian's chromium, timed by the browser's own timeline.

    .venv/bin/python -m bench.client_scale [--messages 100000] [--rooms 30] [--unread 200]

A fresh SQLite community of `--rooms` theme rooms (and one area), each with unread
messages for the reader, and one room of `--messages` messages of which the last
`--unread` are unread. A `werkplaats serve` process serves it; chromium (Playwright)
signs in and a Chrome trace (the Performance panel's data) is recorded around two steps:

- the room list: from loading the client, signed in, until every room link shows its
  unread count;
- opening the big room: from the click on its link until the "Nieuwe berichten" line is
  in the DOM (the client opens a room at its first unread message).

For each step: script time (the union of the renderer main thread's top-level script
events: evaluation, function calls, timers, event dispatch, microtasks, module compiles)
and main-thread busy time (the union of its tasks, which adds style, layout and paint).
Then the DOM's size after opening, and after paging back through older history
`--pages` times (with the largest it was along the way): the timeline is a window of
messages (web/static/js/sync.js WINDOW), so it stays bounded however far one pages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench import servers as sv

# Top-level script work in Chrome's devtools.timeline trace (nested ones are inside these).
SCRIPT_EVENTS = {
    "EvaluateScript",
    "v8.evaluateModule",
    "v8.compileModule",
    "FunctionCall",
    "TimerFire",
    "EventDispatch",
    "RunMicrotasks",
    "FireAnimationFrame",
    "v8.run",
}
TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8"]
BIG_ROOM = "bench-fanout"
READER, WRITER = "b00000", "b00001"


async def seed(url: str, messages: int, rooms: int, unread: int) -> None:
    """Messages through the real send path (group commit), then the reader's markers."""
    from chat.frames import Author
    from chat.groupcommit import GroupCommit
    from chat.store import SendRequest
    from persistence.accounts import actor_for, user_by_name
    from persistence.db import Database
    from persistence.models import ReadMarker, Room

    db = Database(url)
    commit = GroupCommit(db)
    try:
        async with db.read() as session:
            user = await user_by_name(session, WRITER)
            reader = await user_by_name(session, READER)
            assert user is not None and reader is not None
            actor = await actor_for(session, user)
            room_ids = {
                slug: id_ for slug, id_ in await session.execute(select(Room.slug, Room.id))
            }
        author = Author(user.username, user.display_name, user.organisation, user.layer)

        def request(room: str, i: int) -> SendRequest:
            body = f"Bericht {i} over water, stikstof en de samenwerking in het gebied."
            return SendRequest(actor, author, room, body, f"{room}-{i}", None)

        started = time.perf_counter()
        for start in range(0, messages, 1000):
            batch = range(start, min(start + 1000, messages))
            await asyncio.gather(*(commit.post(request(BIG_ROOM, i)) for i in batch))
        for r in range(rooms):
            slug = f"bench-{r:02d}"
            await asyncio.gather(*(commit.post(request(slug, i)) for i in range(r % 7 + 1)))
        print(f"seeded {messages:,} messages in {time.perf_counter() - started:.0f} s")
        async with db.write() as session:
            session.add(
                ReadMarker(user_id=reader.id, room_id=room_ids[BIG_ROOM], seq=messages - unread)
            )
        await commit.close()
    finally:
        await db.dispose()


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _length(spans: list[tuple[float, float]]) -> float:
    return sum(hi - lo for lo, hi in spans)


def busy_ms(trace: Any) -> tuple[float, float]:
    """Script and main-thread milliseconds of the renderer's main thread in a trace.

    Unions, so nested or overlapping events count once. Playwright's own calls into the
    page (polling, a click's checks) arrive as top-level `v8.callFunction` tasks: they
    are left out of both figures.
    """
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }

    def spans(match: Any) -> list[tuple[float, float]]:
        return _union(
            [
                (e["ts"], e["ts"] + e["dur"])
                for e in events
                if e.get("ph") == "X" and "dur" in e and (e["pid"], e["tid"]) in main and match(e)
            ]
        )

    script = spans(lambda e: e["name"] in SCRIPT_EVENTS)
    tasks = spans(lambda e: e["name"] == "RunTask")
    calls = spans(lambda e: e["name"] == "v8.callFunction")
    # A call outside every script event is the driver's, not the client's.
    driver = [(lo, hi) for lo, hi in calls if not any(a <= lo and hi <= b for a, b in script)]
    return _length(script) / 1000, (_length(tasks) - _length(driver)) / 1000


async def until(page: Any, selector: str, ok: Any, limit: float = 120.0) -> None:
    """Poll a count (the page's CSP allows no evaluated strings for wait_for_function)."""
    deadline = time.monotonic() + limit
    while not ok(await page.locator(selector).count()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{selector}: not there within {limit} s")
        await asyncio.sleep(0.02)


async def measure(base: str, rooms: int, pages: int, workdir: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    out: dict[str, Any] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = await browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
        ctx.set_default_timeout(120_000)
        page = await ctx.new_page()
        await page.goto("/")
        await page.get_by_label("Gebruikersnaam").fill(READER)
        await page.get_by_label("Wachtwoord").fill(sv.PASSWORD)
        await page.get_by_role("button", name="Inloggen").click()
        await page.locator("#sidebar .room-link").first.wait_for()

        links = "#sidebar .room-link.has-unread"
        trace_file = workdir / "rooms.json"
        await browser.start_tracing(page=page, path=str(trace_file), categories=TRACE_CATEGORIES)
        await page.reload()
        await until(page, links, lambda n: n >= rooms + 1)
        await browser.stop_tracing()
        script, main = busy_ms(json.loads(trace_file.read_text()))
        out["room_list"] = {
            "rooms_with_unread": await page.locator(links).count(),
            "script_ms": script,
            "main_thread_ms": main,
        }

        trace_file = workdir / "room.json"
        await browser.start_tracing(page=page, path=str(trace_file), categories=TRACE_CATEGORIES)
        await page.locator(f'#sidebar a[data-slug="{BIG_ROOM}"]').click()
        await page.locator("#eerste-ongelezen").wait_for(state="attached")
        await browser.stop_tracing()
        script, main = busy_ms(json.loads(trace_file.read_text()))

        def dom() -> Any:
            return page.evaluate(
                "[document.getElementsByTagName('*').length,"
                " document.querySelectorAll('article').length]"
            )

        elements, articles = await dom()
        out["open_room"] = {
            "script_ms": script,
            "main_thread_ms": main,
            "dom_elements": elements,
            "messages_in_dom": articles,
        }
        # Page back through older history by scrolling to the top, as a reader does; the
        # timeline is a window (web/static/js/sync.js WINDOW), so the DOM stays bounded.
        timeline = page.locator(".timeline")
        first = page.locator("article.msg").first
        most = [elements, articles]
        for _ in range(pages):
            before = await first.get_attribute("data-seq")
            await timeline.evaluate("(el) => { el.scrollTop = 0; }")
            deadline = time.monotonic() + 120
            while await first.get_attribute("data-seq") == before:
                if time.monotonic() > deadline:
                    raise TimeoutError("no older page within 120 s")
                await asyncio.sleep(0.02)
            now = await dom()
            most = [max(most[0], now[0]), max(most[1], now[1])]
        elements, articles = await dom()
        out["after_paging"] = {
            "pages": pages,
            "dom_elements": elements,
            "messages_in_dom": articles,
            "most_dom_elements": most[0],
            "most_messages_in_dom": most[1],
            "first_seq_shown": int(await first.get_attribute("data-seq") or 0),
        }
        await browser.close()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rooms", type=int, default=30)
    parser.add_argument("--unread", type=int, default=200)
    parser.add_argument("--pages", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wp-client-"))
    url = f"sqlite+aiosqlite:///{work}/client.db"
    env = sv.our_env(url, None, "client")
    toml = work / "community.toml"
    toml.write_text(sv.community_toml(2, args.rooms))
    sv.load_community(env, toml, work / "load.log")
    await seed(url, args.messages, args.rooms, args.unread)
    proc, addr = await sv.start_ours("client", env, work)
    try:
        result = await measure(f"http://{addr}", args.rooms, args.pages, work)
    finally:
        proc.stop()
    result["messages"], result["unread"] = args.messages, args.unread
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

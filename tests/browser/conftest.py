"""Browser tests: a real `werkplaats serve` process with the demo community, Debian's
chromium driven by Playwright, and axe-core from the npm registry (tests only).

On a developer's machine a missing chromium, Playwright or axe-core skips these tests;
in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
# The second checker: HTML_CodeSniffer, its WCAG2AA standard (errors only).
HTMLCS_JS = HERE / "node_modules" / "html_codesniffer" / "build" / "HTMLCS.js"
CHROMIUM = os.environ.get("WERKPLAATS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
WERKPLAATS = str(Path(sys.executable).parent / "werkplaats")
# Every Playwright wait in these tests is bounded by this (milliseconds). 30 s: a CI run
# saw chromium make no request at all for 10-14 s while the other worker built the
# multi-host topology or started server pairs; a wait is a bound, not a measurement.
DEFAULT_TIMEOUT_MS = 30_000
SERVER_START_S = 45.0


def need(ok: bool, message: str) -> None:
    """Skip on a developer's machine, fail in CI."""
    if ok:
        return
    if CI:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


LOGIN_LINE = re.compile(r"^\s+([a-z0-9._-]{2,32})\s+(\S+)\s{2,}\S")


def parse_logins(output: str) -> dict[str, str]:
    """The username/password pairs `werkplaats demo` prints."""
    logins: dict[str, str] = {}
    seen_header = False
    for line in output.splitlines():
        if "Demo logins" in line:
            seen_header = True
            continue
        m = LOGIN_LINE.match(line)
        if seen_header and m:
            logins[m.group(1)] = m.group(2)
    return logins


@dataclass
class Server:
    base_url: str
    logins: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] = field(repr=False)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real uvicorn process on a free loopback port, with the demo community loaded.

    Package scope: it, Playwright and chromium are gone before the rest of the suite's
    asyncio tests run.
    """
    tmp = tmp_path_factory.mktemp("browser-server")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WERKPLAATS_")}
    # The suite's cheap password hashing (tests/conftest.py), as every other server it starts:
    # at production cost each of the many sign-ins spent most of a second in argon2.
    for name in ("WERKPLAATS_ARGON2_TIME_COST", "WERKPLAATS_ARGON2_MEMORY_KIB"):
        env[name] = os.environ[name]
    env["WERKPLAATS_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp / 'db.sqlite'}"
    env["WERKPLAATS_SECRET_KEY"] = "browser-tests-secret-key-0123456789abcdef"
    # The smallest backlog the contract allows, so a test can make a client backfill;
    # generous send and frame rates, so that test can post hundreds of messages quickly.
    env["WERKPLAATS_BACKLOG_CAP"] = "500"
    env["WERKPLAATS_SEND_BURST"] = "100000"
    env["WERKPLAATS_SEND_RATE"] = "100000"
    env["WERKPLAATS_FRAME_BURST"] = "100000"
    env["WERKPLAATS_FRAME_RATE"] = "100000"
    # Pushes may go to the tests' push service on loopback (test_push_profile.py).
    env["WERKPLAATS_PUSH_ALLOW_LOOPBACK"] = "true"
    demo = subprocess.run(
        [WERKPLAATS, "demo"], env=env, cwd=tmp, capture_output=True, text=True, timeout=120
    )
    assert demo.returncode == 0, f"werkplaats demo failed:\n{demo.stdout}\n{demo.stderr}"
    logins = parse_logins(demo.stdout)
    assert logins, f"no demo logins printed:\n{demo.stdout}"
    port = free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            # --demo as `make run` serves: the login page lists the demo accounts.
            [WERKPLAATS, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer /healthz in {SERVER_START_S}s")
            time.sleep(0.2)
        yield Server(base, logins, log, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="package")
def playwright_api() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package is not installed (pip install playwright)")
        raise
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright_api: Any) -> Iterator[Any]:
    """Debian's chromium; never a browser downloaded by Playwright."""
    need(
        Path(CHROMIUM).exists(),
        f"chromium is not installed at {CHROMIUM} (apt-get install chromium)",
    )
    b = playwright_api.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
    )
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="package")
def axe_source() -> Path:
    need(
        AXE_JS.exists() and HTMLCS_JS.exists(),
        f"axe-core or html_codesniffer is not installed: npm ci --prefix {HERE}",
    )
    return AXE_JS


@dataclass
class Tab:
    """One page of a signed-in (or not yet signed-in) user, with its console problems."""

    page: Any
    context: Any
    problems: list[str]


# What the browser asked for and got during a test, shown with a failure: a page that never
# became ready says which of its requests were answered and which never began.
NETWORK = pytest.StashKey[list[str]]()
# The browser server's log and where it stood when the test began.
SERVER_LOG = pytest.StashKey[tuple[Path, int]]()


def record_network(context: Any, log: list[str], name: str) -> None:
    """Log the context's requests (its pages and service worker) with their times."""
    start = time.monotonic()

    def line(kind: str, url: str, extra: str = "") -> None:
        path = url.split("//", 1)[-1].split("/", 1)[-1]
        log.append(f"{time.monotonic() - start:8.3f} {name} {kind:8} /{path[:90]} {extra}")

    context.on("request", lambda r: line("request", r.url, r.resource_type))
    context.on("requestfinished", lambda r: line("finished", r.url))
    context.on("requestfailed", lambda r: line("failed", r.url, str(r.failure)))
    context.on("console", lambda m: line("console", m.location.get("url", ""), m.text[:200]))
    context.on("page", lambda page: page.on("crash", lambda _: line("crash", page.url)))
    context.on("serviceworker", lambda worker: line("worker", worker.url))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    log = item.stash.get(NETWORK, None)
    if report.failed and log:
        report.sections.append(("browser network", "\n".join(log[-400:])))
        path, offset = item.stash[SERVER_LOG]
        with path.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode("utf-8", "replace").splitlines()
        report.sections.append(("browser server log", "\n".join(lines[-300:])))
    return report


@pytest.fixture
def open_tab(
    browser: Any, server: Server, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Tab]]:
    """Factory: a fresh browser context (its own cookies) and page at the client."""
    contexts: list[Any] = []
    network = request.node.stash.setdefault(NETWORK, [])
    request.node.stash[SERVER_LOG] = (server.log, server.log.stat().st_size)

    def make(
        width: int = 1280,
        height: int = 800,
        context: Any = None,
        signed_in_as: tuple[str, str] | None = None,
    ) -> Tab:
        """`signed_in_as` (username, password): logged in through the API first, with the
        context's own cookie jar, so the page opens signed in (the login form has tests
        of its own)."""
        ctx = context
        if ctx is None:
            ctx = browser.new_context(
                base_url=server.base_url,
                viewport={"width": width, "height": height},
                locale="nl-NL",
                timezone_id="Europe/Amsterdam",
            )
            ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
            ctx.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS * 2)
            record_network(ctx, network, f"tab{len(contexts)}")
            contexts.append(ctx)
        if signed_in_as is not None:
            username, password = signed_in_as
            r = ctx.request.post(
                "/api/session",
                data={"username": username, "password": password},
                headers={"Origin": server.base_url},
            )
            assert r.ok, r.text()
        page = ctx.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

        def on_console(msg: Any) -> None:
            text = msg.text
            if msg.type == "error" and ("Content Security Policy" in text or "Refused" in text):
                problems.append(f"CSP: {text}")

        page.on("console", on_console)
        page.goto("/")
        return Tab(page, ctx, problems)

    yield make
    for ctx in contexts:
        try:
            ctx.close()
        except Exception:
            pass


@pytest.fixture(autouse=True)
def _artifacts_dir() -> None:
    ARTIFACTS.mkdir(exist_ok=True)

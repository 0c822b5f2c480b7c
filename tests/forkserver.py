"""`werkplaats serve` processes forked from one that has imported the server already.

A fresh interpreter spends seconds importing the server before it runs a line of `serve`
(7-8 s a process on the loaded 2-core machine), and the suite starts dozens. Each pytest
worker keeps one such process (`python -m tests.forkserver`): it imports what `serve`
imports, starts no thread, and for each request forks a child that runs
`web.cli.main(argv)` with the request's environment, working directory and log file, as
the `werkplaats` console script would. The child is a real process of its own (own pid,
own uvicorn, own event loop); only the imports and the Dutch word list (which every server
reads at start, into the same cache) were done before the fork. Its exit status
comes back over the pipe, so `Forked` answers as `subprocess.Popen` does.

WERKPLAATS_TEST_FORK=0 turns this off (each server a fresh `werkplaats` process again).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENABLED = os.environ.get("WERKPLAATS_TEST_FORK", "1") != "0"
# What `werkplaats serve` imports, lazily included: the child starts with all of it loaded.
PRELOAD = (
    "web.cli",
    "web.app",
    "web.guard",
    "web.wsclose",
    "web.proxies",
    "uvicorn.main",
    "uvicorn.server",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "aiosqlite",
    "asyncpg",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.dialects.postgresql.asyncpg",
)


# -- the forking process ------------------------------------------------------------------


def _child(request: dict[str, Any], replies: int) -> None:
    """Become `werkplaats <argv>` (or `python -m <module> <argv>`); never returns."""
    code = 1
    try:
        os.close(replies)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        module = request.get("module")
        if module is None:
            sys.argv = [str(Path(sys.executable).parent / "werkplaats"), *request["argv"]]
            from web.cli import main

            code = main(request["argv"])
        else:
            # `python -m <module> <argv>`, as the test would have started it.
            import runpy

            sys.argv = [module, *request["argv"]]
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reply(fd: int, message: dict[str, Any]) -> None:
    os.write(fd, json.dumps(message).encode() + b"\n")


def serve() -> None:
    """The forking process's loop: a request per line on stdin, replies on stdout."""
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from persistence.search.compounds import vocabulary

    vocabulary()  # every server reads the word list at start (2 s of CPU): once, here
    replies = os.dup(1)
    os.dup2(2, 1)  # nothing else may write into the reply pipe
    if threading.active_count() != 1:
        _reply(replies, {"error": "threads started by an import: forking is not safe"})
        return
    _reply(replies, {"ready": True})
    children: set[int] = set()
    pending = b""
    try:
        while True:
            readable, _, _ = select.select([0], [], [], 0.05)
            while children:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                children.discard(pid)
                _reply(replies, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})
            if not readable:
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                pid = os.fork()
                if pid == 0:
                    _child(json.loads(line), replies)
                children.add(pid)
                _reply(replies, {"pid": pid})
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# -- the pytest worker's side -------------------------------------------------------------


class Forked:
    """A forked `werkplaats` child, answering as much of `subprocess.Popen` as the tests use."""

    def __init__(self, server: ForkServer, pid: int, argv: list[str]) -> None:
        self.server = server
        self.pid = pid
        self.args = argv
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self.server.changed:
            if not self.server.changed.wait_for(lambda: self.poll() is not None, timeout):
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """This pytest worker's forking process (started on first use)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        self.changed = threading.Condition()
        self.exits: dict[int, int] = {}
        self.started: list[int] = []
        self.lock = threading.Lock()
        self.ok = True
        first = self._read()
        if first.get("ready") is not True:
            self.ok = False
            return
        threading.Thread(target=self._listen, name="forkserver", daemon=True).start()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            return {"error": "the forking process ended"}
        found: dict[str, Any] = json.loads(line)
        return found

    def _listen(self) -> None:
        while True:
            message = self._read()
            with self.changed:
                if "exit" in message:
                    self.exits[message["exit"]] = message["code"]
                elif "pid" in message:
                    self.started.append(message["pid"])
                else:
                    self.ok = False
                self.changed.notify_all()
            if "error" in message:
                return

    def exit_code(self, pid: int) -> int | None:
        with self.changed:
            return self.exits.get(pid)

    def spawn(
        self, argv: list[str], env: dict[str, str], cwd: Path, log: Path, module: str | None
    ) -> Forked | None:
        """`werkplaats <argv>` (or `python -m <module> <argv>`) forked; None when the forking
        process cannot (start it plainly)."""
        assert self.proc.stdin is not None
        request = {"argv": argv, "env": env, "cwd": str(cwd), "log": str(log), "module": module}
        with self.lock, self.changed:
            if not self.ok:
                return None
            before = len(self.started)
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
            if not self.changed.wait_for(lambda: len(self.started) > before or not self.ok, 60):
                self.ok = False
            if not self.ok:
                return None
            return Forked(self, self.started[before], argv)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


_server: ForkServer | None = None
_server_lock = threading.Lock()


def spawn(
    argv: list[str], env: dict[str, str], cwd: Path, log: Path, module: str | None = None
) -> Forked | None:
    """`werkplaats <argv>` (with `module`: `python -m <module> <argv>`) forked from this
    worker's forking process, or None (not enabled, or it cannot: the caller starts a fresh
    process instead)."""
    global _server
    if not ENABLED:
        return None
    with _server_lock:
        if _server is None:
            _server = ForkServer()
            atexit.register(_server.close)
        server = _server
    return server.spawn(argv, env, cwd, log, module)


if __name__ == "__main__":
    serve()

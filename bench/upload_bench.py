"""Uploads beside live chat: W2 (50 rooms × 20 members, 200 msg/s) once alone and once
while 20 uploads of 10 MiB each run at a time, over and over; W2's p99 and the server's
memory (resident set, sampled every 100 ms) in both.

`python -m bench.upload_bench` (or `make bench-uploads`) starts one `werkplaats serve` on
a fresh SQLite database (bench/run.py's set-up: server pinned to core 0, the load
generator to core 1), scanning with the clamd on 127.0.0.1:3310 (`.ci/services.d/clamd.sh`
starts one) unless `--no-scan`. Each upload is a distinct valid PDF of 10 MiB (a page of
text and an unreferenced 10 MiB stream), sent by its own user to the area room, streamed
from a file on disk. Prints a Markdown table for docs/performance.md and writes the
figures to the run's folder (bench/results/…/uploads.json). Passes when W2's p99 with
uploads is within 2× of alone (and W2 alone lost nothing: on a machine too busy for W2 the
comparison is reported as not measurable), and the server process's peak memory during
uploads grows by less than `--memory-limit-mib` (default 150) over its peak without them;
its text parsers (child processes) are bounded by construction, two at a time of at most
512 MiB each, and reported beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench import run as bench_run
from bench import servers as sv

MIB = 1024 * 1024
ROOM = "bench-gebied"


def big_pdf(path: Path, size: int, seed: bytes) -> None:
    """A valid PDF of about `size` bytes: one page of text, and a stream of random bytes
    no page refers to (what a scanned appendix weighs), with a correct xref table."""
    page = b"BT /F1 12 Tf 72 720 Td (Bijlage bij het verslag) Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(page) + page + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    filler = size - 2048
    with path.open("wb") as out:
        offsets = []
        pos = out.write(b"%PDF-1.4\n%" + seed + b"\n")
        for i, obj in enumerate(objs, 1):
            offsets.append(pos)
            pos += out.write(b"%d 0 obj\n" % i + obj + b"\nendobj\n")
        offsets.append(pos)
        pos += out.write(b"6 0 obj\n<< /Length %d >>\nstream\n" % filler)
        left = filler
        while left:
            chunk = os.urandom(min(MIB, left))
            pos += out.write(chunk)
            left -= len(chunk)
        pos += out.write(b"\nendstream\nendobj\n")
        xref = pos
        out.write(b"xref\n0 7\n0000000000 65535 f \n")
        out.write(b"".join(b"%010d 00000 n \n" % off for off in offsets))
        out.write(b"trailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)


def rss_kib(pids: list[int]) -> int:
    """The resident memory of these processes and their children (the extraction worker)."""
    total = 0
    seen = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            todo += [int(c) for c in children]
        except (OSError, ValueError):
            continue
    return total


def own_rss_kib(pids: list[int]) -> int:
    """The resident memory of the server processes alone, without their children."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total


class Sampler:
    """The server's memory every 100 ms while it runs (with its children, and alone)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.samples: list[int] = []
        self.own: list[int] = []
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            self.samples.append(rss_kib(self.pids))
            self.own.append(own_rss_kib(self.pids))
            await asyncio.sleep(0.1)

    def __enter__(self) -> Sampler:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def summary(self) -> dict[str, float]:
        s = self.samples or [0]
        own = self.own or [0]
        return {
            "start_mib": s[0] / 1024,
            "peak_mib": max(s) / 1024,
            "end_mib": s[-1] / 1024,
            "server_alone_peak_mib": max(own) / 1024,
        }


class Uploader:
    """`concurrency` uploads at a time, each from its own user, until stopped."""

    def __init__(self, base: str, tokens: list[str], files: list[Path]) -> None:
        self.base = base
        self.tokens = tokens
        self.files = files
        self.stop = asyncio.Event()
        self.status: dict[int, int] = {}
        self.seconds: list[float] = []
        self.bytes = 0

    async def one(self, client: httpx.AsyncClient, slot: int) -> None:
        token, path = self.tokens[slot], self.files[slot]
        while not self.stop.is_set():
            started = time.perf_counter()
            with path.open("rb") as f:
                r = await client.post(
                    f"{self.base}/api/rooms/{ROOM}/files",
                    files={"file": (f"bijlage-{slot}.pdf", f, "application/pdf")},
                    headers={"Authorization": f"Bearer {token}"},
                )
            self.status[r.status_code] = self.status.get(r.status_code, 0) + 1
            if r.status_code == 201:
                self.seconds.append(time.perf_counter() - started)
                self.bytes += path.stat().st_size

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=len(self.files))
        async with httpx.AsyncClient(timeout=300, limits=limits) as client:
            await asyncio.gather(*(self.one(client, i) for i in range(len(self.files))))


def w2_runs(bench: bench_run.Bench, target: str) -> tuple[list[float], list[int]]:
    """Each W2 run's p99 (infinite when nothing arrived) and messages lost."""
    runs = bench.results.get("W2", {}).get(target, [])
    steps = [r["steps"][0] for r in runs]
    p99s = [float((st.get("latency_ms") or {}).get("p99") or "inf") for st in steps]
    return p99s, [int(st.get("lost") or 0) for st in steps]


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    bench = bench_run.Bench(
        argparse.Namespace(
            full=False, repeats=args.repeats, set=None, only="W2", targets="ours-sqlite"
        )
    )
    if not hasattr(bench, "_dbs"):
        bench._dbs = {}
    if not hasattr(bench, "_tokens"):
        bench._tokens = {}
    files_dir = bench.workdir / "files"
    plain_env = sv.our_env

    def env_with_files(*a: Any) -> dict[str, str]:
        env = plain_env(*a)
        env["WERKPLAATS_FILES_DIR"] = str(files_dir)
        env["WERKPLAATS_FILES_SPOOL_DIR"] = str(bench.workdir)
        if args.no_scan:
            env["WERKPLAATS_FILES_SCAN"] = "false"
        return env

    sv.our_env = env_with_files
    uploads = [bench.workdir / f"upload-{i:02d}.pdf" for i in range(args.concurrency)]
    for i, path in enumerate(uploads):
        big_pdf(path, args.size_mib * MIB, b"%02d" % i)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    t = await bench.ours("sqlite")
    name = t.name
    out: dict[str, Any] = {"concurrency": args.concurrency, "size_mib": args.size_mib}
    try:
        with Sampler(t.pids()) as alone_mem:
            await bench.w2(t)
        alone, alone_lost = w2_runs(bench, name)
        bench.results.clear()
        uploader = Uploader(f"http://{t.addrs[0]}", t.tokens[-args.concurrency :], uploads)
        with Sampler(t.pids()) as busy_mem:
            running = asyncio.get_running_loop().create_task(uploader.run())
            await asyncio.sleep(2)  # the uploads under way before W2 starts
            await bench.w2(t)
            uploader.stop.set()
            await running
        busy, busy_lost = w2_runs(bench, name)
        out.update(
            w2_p99_alone_ms=alone,
            w2_p99_uploads_ms=busy,
            w2_lost_alone=alone_lost,
            w2_lost_uploads=busy_lost,
            uptime_before=load_before,
            memory_alone=alone_mem.summary(),
            memory_uploads=busy_mem.summary(),
            upload_status=uploader.status,
            uploads_done=len(uploader.seconds),
            upload_seconds_median=statistics.median(uploader.seconds) if uploader.seconds else None,
            upload_mib_per_s=uploader.bytes
            / MIB
            / max(1e-9, sum(uploader.seconds))
            * args.concurrency
            if uploader.seconds
            else None,
            uptime=Path("/proc/loadavg").read_text().split()[:3],
            scan=not args.no_scan,
        )
    finally:
        t.stop()
        sv.our_env = plain_env
        for db in bench._dbs.values():
            db.drop()
        for path in uploads:
            path.unlink(missing_ok=True)
    (bench.workdir / "uploads.json").write_text(json.dumps(out, indent=2))
    out["workdir"] = str(bench.workdir)
    return out


def table(r: dict[str, Any], limit_mib: float) -> tuple[str, bool]:
    alone, busy = statistics.median(r["w2_p99_alone_ms"]), statistics.median(r["w2_p99_uploads_ms"])
    grow = r["memory_uploads"]["peak_mib"] - r["memory_alone"]["peak_mib"]
    own_grow = (
        r["memory_uploads"]["server_alone_peak_mib"] - r["memory_alone"]["server_alone_peak_mib"]
    )
    measurable = alone != float("inf") and sum(r["w2_lost_alone"]) == 0
    latency_ok = measurable and busy <= 2 * alone and sum(r["w2_lost_uploads"]) == 0
    # The server process must stay within the limit; its text parsers are bounded by
    # construction (web/extract.py: EXTRACTORS at a time, MEMORY_BYTES each).
    memory_ok = own_grow < limit_mib
    fmt = ", ".join(f"{v:.1f}" for v in r["w2_p99_uploads_ms"])
    rows = [
        "| measure | alone | with uploads | goal | |",
        "|---|---|---|---|---|",
        f"| W2 p99 (median of runs) | {alone:.1f} ms"
        f" ({', '.join(f'{v:.1f}' for v in r['w2_p99_alone_ms'])}) | {busy:.1f} ms ({fmt})"
        f" | ≤ 2× alone ({2 * alone:.1f} ms) |"
        f" {'met' if latency_ok else 'NOT met' if measurable else 'not measurable: W2 alone lost messages'} |",
        f"| server process, peak | {r['memory_alone']['server_alone_peak_mib']:.0f} MiB"
        f" | {r['memory_uploads']['server_alone_peak_mib']:.0f} MiB | grows < {limit_mib:.0f} MiB"
        f" | {'met' if memory_ok else 'NOT met'} ({own_grow:+.0f} MiB) |",
        f"| with its text parsers, peak | {r['memory_alone']['peak_mib']:.0f} MiB"
        f" | {r['memory_uploads']['peak_mib']:.0f} MiB | ≤ 2 × 512 MiB more | ({grow:+.0f} MiB) |",
        f"| W2 messages lost | {sum(r['w2_lost_alone'])} | {sum(r['w2_lost_uploads'])}"
        " | no more than alone | |",
        f"| uploads of {r['size_mib']} MiB, {r['concurrency']} at a time | | "
        f"{r['uploads_done']} stored, median {r['upload_seconds_median'] or 0:.1f} s each,"
        f" answers {r['upload_status']} | | |",
    ]
    return "\n".join(rows), latency_ok and memory_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--size-mib", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="W2 runs, alone and with uploads")
    parser.add_argument("--memory-limit-mib", type=float, default=150.0)
    parser.add_argument("--no-scan", action="store_true", help="clamd off (not the default)")
    args = parser.parse_args()
    result = asyncio.run(measure(args))
    text, ok = table(result, args.memory_limit_mib)
    print(text)
    print(f"load (1, 5, 15 min) before: {' '.join(result['uptime_before'])}")
    print(f"load (1, 5, 15 min) at the end: {' '.join(result['uptime'])}")
    print(f"figures: {result['workdir']}/uploads.json")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()

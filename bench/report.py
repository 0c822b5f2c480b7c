"""The bench section of docs/performance.md, rewritten between its markers on every run.

Everything outside `<!-- bench:start -->` … `<!-- bench:end -->` (the search engineer's
`## Search`, anything else) is kept as it is. The hand-written analysis (what limits the
server, what each change bought) lives in bench/analysis.md and is copied in after the
generated tables, so that a rerun never loses it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.stats import fmt, spread

if TYPE_CHECKING:
    from bench.run import Bench

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
ANALYSIS = Path(__file__).resolve().parent / "analysis.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
GEN_SATURATED = 0.9
NAMES = {
    "ours-sqlite": "ours (SQLite)",
    "ours-pg": "ours (PostgreSQL)",
    "u": "U (websockets)",
    "p": "P (socket.io + Redis)",
    "s": "S (Synapse, SQLite)",
}


def checkout() -> str:
    return _cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])


def measured_now(at_checkout: str | None = None) -> dict[str, Any]:
    """When and at what load a run ends, and the checkout it ran (saved with its results)."""
    return {
        "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "checkout": at_checkout or checkout(),
    }


def write(bench: Bench, doc: Path = DOC) -> None:
    code = getattr(bench, "notes_code", "server code: the working tree")
    measured = getattr(bench, "measured", None)
    section = render(bench.results, bench.size, bench.full, bench.notes, code, measured)
    text = doc.read_text() if doc.exists() else "# Performance\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)


def render(
    results: dict[str, dict[str, list[dict[str, Any]]]],
    size: dict[str, Any],
    full: bool,
    notes: list[str],
    code: str = "server code: the working tree",
    measured: dict[str, Any] | None = None,
) -> str:
    out = [START, "## Real-time benchmarks (`make bench`)", ""]
    out += _preamble(size, full, code, measured)
    out += _targets(results, size)
    for title, part in (
        ("W1 fan-out", _w1),
        ("W2 many rooms", _w2),
        ("W3 unloaded latency", _w3),
        ("W4 durable ingest", _w4),
        ("W5 catch-up and herd", _w5),
        ("W6 idle connections", _w6),
        ("W7 the Redis tax", _w7),
    ):
        out += [f"### {title}", ""]
        out += part(results, size)
        out.append("")
    out += [
        "### W8 search",
        "",
        "From the search work: see `## Search` in this document (`bench/search_bench.py`).",
        "",
    ]
    if notes:
        out += ["### Runs that failed", ""] + [f"- {n}" for n in notes] + [""]
    if ANALYSIS.exists():
        out += [ANALYSIS.read_text().rstrip("\n"), ""]
    out.append(END)
    return "\n".join(out)


# -- preamble --------------------------------------------------------------------------


def _cmd(argv: list[str]) -> str:
    with suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    return "?"


def _pip_version(python: Path, package: str) -> str:
    if not python.exists():
        return "not installed"
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    return _cmd([str(python), "-c", code]) or "not installed"


def _preamble(
    size: dict[str, Any], full: bool, code: str, measured: dict[str, Any] | None
) -> list[str]:
    cpu = "?"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with suppress(OSError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    peers = ROOT / "bench" / ".venv-peers" / "bin" / "python"
    ours = ROOT / ".venv" / "bin" / "python"
    pg = _cmd(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "show server_version"])
    redis = _cmd(["redis-cli", "-h", "127.0.0.1", "info", "server"])
    redis_v = next(
        (ln.split(":")[1] for ln in redis.splitlines() if ln.startswith("redis_version")), "?"
    )
    # A run's own time, load and checkout (`bench.run` saves them); now's when it is live.
    now = measured or measured_now()
    commit = now["checkout"]
    load = now["load"] or "not recorded"
    mode = "FULL (`make bench FULL=1`)" if full else "quick (`make bench`)"
    return [
        f"Measured {now['at']}, {mode}, "
        f"checkout `{commit}`, {code}; each figure is the **median (min–max) over "
        f"{size['repeats']} runs**. Raw results: `bench/results/<stamp>/results.json`.",
        "",
        "**Indicative only.** This machine's two cores are shared with other work (load "
        f"average {load} when the run ended); absolute figures move by a factor of two or "
        "more between runs. The ratios against the peers, measured in the same run on the "
        "same cores, are the figures to read; no test asserts an absolute timing.",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPU | {cpu}, {os.cpu_count()} cores, {mem} |",
        f"| OS | {platform.system()} {platform.release()} |",
        f"| Python | {_cmd([str(ours), '-c', 'import sys; print(sys.version.split()[0])'])} |",
        f"| Node.js (load generator) | {_cmd(['node', '--version'])}, ws {_node_ws_version()} |",
        f"| PostgreSQL / Redis | {pg} / {redis_v} |",
        f"| ours | uvicorn {_pip_version(ours, 'uvicorn')}, starlette "
        f"{_pip_version(ours, 'starlette')}, SQLAlchemy {_pip_version(ours, 'sqlalchemy')}, "
        f"uvloop {_pip_version(ours, 'uvloop')}, msgspec {_pip_version(ours, 'msgspec')} |",
        f"| U | websockets {_pip_version(peers, 'websockets')}, uvloop "
        f"{_pip_version(peers, 'uvloop')} |",
        f"| P | python-socketio {_pip_version(peers, 'python-socketio')}, uvicorn "
        f"{_pip_version(peers, 'uvicorn')}, redis-py {_pip_version(peers, 'redis')} |",
        f"| S | matrix-synapse {_pip_version(peers, 'matrix-synapse')} |",
        "",
        "Settings: every server is one process pinned to core 0 (`taskset`), the load "
        "generator (`bench/loadgen/loadgen.js`, Node.js + `ws`, one process) to core 1; all "
        "traffic on 127.0.0.1. Ours runs as `werkplaats serve` with "
        "the `send` and frame buckets (`WERKPLAATS_SEND_BURST`/`_RATE`, "
        "`WERKPLAATS_FRAME_BURST`/`_RATE`) raised to 10,000,000, cheap argon2 for the logins (not "
        "measured), all else default (outbound queue 2,000 frames, compression off). "
        "Latency is from the scheduled send time written into each message body to its "
        "arrival at the receiver (same clock, same process), so generator lag counts "
        "against the server; percentiles from a log-linear (HDR-style) histogram. Load "
        "is open-loop at fixed offered rates except W4 (closed loop, a window of sends "
        "in flight per connection). A step whose generator used more than "
        f"{GEN_SATURATED:.0%} of its core is discarded. Sizes: W1 {size['w1_subscribers']} "
        f"subscribers, W2 {size['w2_rooms']} × {size['w2_members']} at {size['w2_rate']} "
        f"msg/s for {size['w2_s']} s, W3 10 msg/s for {size['w3_s']} s, W4 "
        f"{size['w4_connections']} connections × {size['w4_window']} in flight for "
        f"{size['w4_s']} s (S: {size['w4_s_concurrency']} concurrent senders), W5 1,000 "
        f"missed × {size['w5_repeats']} and a herd of {size['w5_herd']}, W6 "
        f"{size['w6_connections']:,} connections, W7 {size['w7_subscribers']} subscribers "
        f"at {size['w7_rate']} msg/s.",
        "",
    ]


def _node_ws_version() -> str:
    import json

    with suppress(OSError, ValueError):
        lock = json.loads((ROOT / "bench" / "loadgen" / "package-lock.json").read_text())
        return str(lock["packages"]["node_modules/ws"]["version"])
    return "?"


# -- helpers ---------------------------------------------------------------------------


def _runs(results: dict[str, Any], w: str, target: str) -> list[dict[str, Any]]:
    return list(results.get(w, {}).get(target, []))


def _step(run: dict[str, Any]) -> dict[str, Any] | None:
    steps = run.get("steps") or []
    if not steps or steps[0].get("gen_cpu", 0) > GEN_SATURATED:
        return None
    return dict(steps[0])


def _lat(runs: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    vals: list[float | None] = []
    for r in runs:
        st = _step(r)
        lat = (st or {}).get("latency_ms") or {}
        vals.append(lat.get(key))
    return spread(vals)


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or not b["median"]:
        return None
    return float(a["median"]) / float(b["median"])


def _r(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}×"


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**missed**")


# -- the targets table -------------------------------------------------------------------


def _targets(results: dict[str, Any], size: dict[str, Any]) -> list[str]:
    rows = ["### Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    subs = f"{size['w1_subscribers']:,} subscribers"
    for peer, want in (("u", 1.0), ("p", 3.0)):
        rate, ours, theirs = _w1_common(results, "ours-sqlite", peer)
        ratio = _ratio(ours, theirs)
        where = f" (at {rate} msg/s, both sustained)" if rate else ""
        rows.append(
            f"| W1 deliveries per server CPU-s ≥ {want:g} × {peer.upper()} ({subs}) | "
            f"{_r(ratio)}{where}: {fmt(ours)} vs {fmt(theirs)} | "
            f"{_verdict(None if ratio is None else ratio >= want)} |"
        )
    rows.extend(_w1_capacity_rows(results, subs))
    for t in ("ours-sqlite", "ours-pg"):
        runs = _runs(results, "W2", t)
        if not runs:
            continue
        p99 = _lat(runs, "p99")
        lost = spread([(_step(r) or {}).get("lost") for r in runs])
        ok = None if p99 is None else p99["max"] <= 50 and (lost or {}).get("max", 1) == 0
        rows.append(
            f"| W2 p99 ≤ 50 ms, nothing lost ({NAMES[t]}) | p99 {fmt(p99, 1, ' ms')}, lost "
            f"{fmt(lost)} | {_verdict(ok)} |"
        )
    s50, s99 = _lat(_runs(results, "W3", "s"), "p50"), _lat(_runs(results, "W3", "s"), "p99")
    for t in ("ours-sqlite", "ours-pg"):
        runs = _runs(results, "W3", t)
        if not runs:
            continue
        p50, p99 = _lat(runs, "p50"), _lat(runs, "p99")
        ok = None if p50 is None or p99 is None else p50["median"] <= 2 and p99["median"] <= 10
        rows.append(
            f"| W3 p50 ≤ 2 ms, p99 ≤ 10 ms, durable ({NAMES[t]}) | p50 {fmt(p50, 2, ' ms')}, "
            f"p99 {fmt(p99, 2, ' ms')} | {_verdict(ok)} |"
        )
        r50, r99 = _ratio(p50, s50), _ratio(p99, s99)
        ok = None if r50 is None or r99 is None else r50 <= 0.1 and r99 <= 0.1
        rows.append(
            f"| W3 ≤ 0.1 × S's latency ({NAMES[t]}) | p50 {_r(r50)}, p99 {_r(r99)} | "
            f"{_verdict(ok)} |"
        )
    pg = spread([r.get("acked_per_s") for r in _runs(results, "W4", "ours-pg")])
    rows.append(
        f"| W4 ≥ 5,000 acked msg/s on PostgreSQL | {fmt(pg, 0, '/s')} | "
        f"{_verdict(None if pg is None else pg['median'] >= 5000)} |"
    )
    for t in ("ours-sqlite", "ours-pg"):
        cu = spread([(r.get("ms") or {}).get("p99") for r in _runs(results, "W5-catchup", t)])
        herd_runs = _runs(results, "W5-herd", t)
        herd = spread([_herd_done(r) for r in herd_runs])
        if cu is None and not herd_runs:
            continue
        rows.append(
            f"| W5 1,000 missed delivered ≤ 50 ms p99 ({NAMES[t]}) | {fmt(cu, 1, ' ms')} | "
            f"{_verdict(None if cu is None else cu['median'] <= 50)} |"
        )
        if herd_runs and any(_herd_done(r) is None for r in herd_runs):
            caught = fmt(spread([r.get("caught_up") for r in herd_runs]))
            measured = f"not all within 30 s ({caught} of {herd_runs[0]['clients']} caught up)"
            ok: bool | None = False
        else:
            measured = fmt(herd, 2, " s")
            ok = None if herd is None else herd["median"] <= 2
        rows.append(f"| W5 herd caught up ≤ 2 s ({NAMES[t]}) | {measured} | {_verdict(ok)} |")
    w6 = spread([r.get("kib_per_connection") for r in _runs(results, "W6", "ours-sqlite")])
    w6u = spread([r.get("kib_per_connection") for r in _runs(results, "W6", "u")])
    ratio = _ratio(w6, w6u)
    rows.append(
        f"| W6 memory per idle connection ≤ U's | {fmt(w6, 1, ' KiB')} vs "
        f"{fmt(w6u, 1, ' KiB')} ({_r(ratio)}) | "
        f"{_verdict(None if ratio is None else ratio <= 1.0)} |"
    )
    for r in _runs(results, "W6-many", "ours-sqlite"):
        rows.append(
            f"| W6 100,000 idle connections on this machine | {r['open']:,} of "
            f"{r['wanted']:,} open over {r['workers']} workers, "
            f"{_num(r.get('kib_per_connection'), 1)} KiB each | "
            f"{_verdict(r['open'] >= 100_000 and r['open'] == r['wanted'])} |"
        )
    rows.extend(_herd10_rows(results))
    tax = _w7_tax(results, with_redis=True)
    tax_srv = _w7_tax(results, with_redis=False)
    rows.append(
        f"| W7 Redis tax ≤ 1.3 × | {_r(tax)} with Redis's own CPU, {_r(tax_srv)} without | "
        f"{_verdict(None if tax is None else tax <= 1.3)} |"
    )
    rows.append("| W8 search at 1,000,000 messages | see `## Search` | – |")
    rows.append(
        "| the web client at scale: a room of 100,000 messages open at its first unread in "
        "≤ 300 ms of script time, 30 rooms with unread counts in ≤ 50 ms | see "
        "`make bench-client` below | – |"
    )
    return [*rows, ""]


def _num(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def _w1_capacity_rows(results: dict[str, Any], subs: str) -> list[str]:
    """W1's sustainable fan-out against U's, and what ours did past it (issue 30)."""
    rows = []
    ours = spread(
        [
            (r.get("summary") or {}).get("sustainable_deliveries_per_s")
            for r in _runs(results, "W1", "ours-sqlite")
        ]
    )
    theirs = spread(
        [
            (r.get("summary") or {}).get("sustainable_deliveries_per_s")
            for r in _runs(results, "W1", "u")
        ]
    )
    if ours is not None or theirs is not None:
        capped = any(
            (r.get("summary") or {}).get("generator_saturated")
            for t in ("ours-sqlite", "u")
            for r in _runs(results, "W1", t)
        )
        ratio = _ratio(ours, theirs)
        note = " (the load generator ran out first)" if capped else ""
        rows.append(
            f"| W1 sustainable deliveries/s (p99 ≤ 100 ms, nothing lost) ≥ 1 × U ({subs}) | "
            f"{_r(ratio)}: {fmt(ours)} vs {fmt(theirs)}{note} | "
            f"{_verdict(None if ratio is None or capped else ratio >= 1.0)} |"
        )
    for label in ("W1-overload", "W1-capped-overload"):
        for r in _runs(results, label, "ours-sqlite"):
            cap = r.get("capacity_rate")
            for st in r.get("steps", []):
                lat = st.get("latency_ms") or {}
                times = f"{st['rate'] / cap:.1f} ×" if cap else ""
                p99 = lat.get("p99")
                # Graceful: those kept hear within a second; the rest were told 1013.
                ok = None if p99 is None else p99 <= 1000
                shed = sum((st.get("shed") or {}).values())
                stalled = r.get("stalled", 0)
                # Graceful also means the stalled readers were let go, not buffered for.
                ok = ok and shed >= stalled
                rows.append(
                    f"| {label}: {times} capacity ({st['rate']:g} msg/s), p99 of those kept "
                    f"≤ 1 s, the stalled readers shed | p99 {_num(p99, 1)} ms, "
                    f"{shed:g} of {stalled} stalled shed, {st['lost']:,} deliveries lost | "
                    f"{_verdict(ok)} |"
                )
    return rows


def _herd10_rows(results: dict[str, Any]) -> list[str]:
    runs = [r for r in _runs(results, "W5-herd10", "ours-pg") if r.get("clients") == 10_000]
    if not runs:
        return []
    done = spread([r.get("all_done_s") for r in runs])
    refused = sum(sum(r["refused"]["without_retry_after"].values()) for r in runs)
    errors = sum(int(r["refused"]["by_status"].get("500", 0)) for r in runs)
    ok = all(r.get("met") for r in runs)
    return [
        f"| W5 herd of 10,000 (each 100 behind, PostgreSQL, 2 processes) all caught up "
        f"≤ 10 s, none refused without `Retry-After`, no 500 | {fmt(done, 1, ' s')}, "
        f"{refused} refused without `Retry-After`, {errors} × 500 | {_verdict(ok)} |"
    ]


# -- per workload ------------------------------------------------------------------------


def _w1_passing(run: dict[str, Any]) -> dict[int, float]:
    """Offered rate → deliveries per CPU-s, for the steps of a run that held the target."""
    out: dict[int, float] = {}
    for st in run.get("steps", []):
        lat = st.get("latency_ms") or {}
        ok = lat.get("p99", 1e9) <= 100 and st["lost"] == 0 and st["gen_cpu"] <= GEN_SATURATED
        if not ok:
            break
        if st.get("deliveries_per_cpu_s"):
            out[st["rate"]] = st["deliveries_per_cpu_s"]
    return out


def _w1_common(
    results: dict[str, Any], ours: str, peer: str
) -> tuple[int | None, dict[str, Any] | None, dict[str, Any] | None]:
    """Deliveries per CPU-s of both at the highest rate that every run of both sustained.

    Efficiency grows with load (fixed costs spread, frames combine), so servers are compared
    at the same offered rate. Without a common sustained rate: the first step of each.
    """
    a, b = _runs(results, "W1", ours), _runs(results, "W1", peer)
    if not a or not b:
        return None, None, None
    passing = [_w1_passing(r) for r in a + b]
    common = set.intersection(*(set(p) for p in passing))
    if common:
        rate = max(common)
        return (
            rate,
            spread([_w1_passing(r)[rate] for r in a]),
            spread([_w1_passing(r)[rate] for r in b]),
        )

    def first(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
        return spread(
            [(r["steps"][0] if r.get("steps") else {}).get("deliveries_per_cpu_s") for r in runs]
        )

    return None, first(a), first(b)


def _w1_fig(results: dict[str, Any], target: str, key: str) -> dict[str, Any] | None:
    return spread([(r.get("summary") or {}).get(key) for r in _runs(results, "W1", target)])


def _w1(results: dict[str, Any], size: dict[str, Any]) -> list[str]:
    rows = [
        f"One room, {size['w1_subscribers']} subscribers, {size['w1_senders']} sender "
        f"connections; offered rates {', '.join(map(str, size['w1_rates']))} msg/s, "
        f"{size['w1_step_s']} s each, rising until p99 > 100 ms or a message is lost. "
        "*Sustainable* is the highest step that kept p99 ≤ 100 ms with nothing lost; the "
        "CPU figure is at that step (server user + system CPU from /proc).",
        "",
        "| server | sustainable deliveries/s | at msg/s | p99 there | deliveries per server "
        "CPU-s | generator CPU | ratio (CPU) vs ours |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    ours = _w1_fig(results, "ours-sqlite", "deliveries_per_cpu_s")
    for t in ("ours-sqlite", "ours-pg", "u", "p"):
        if not _runs(results, "W1", t):
            continue
        per_cpu = _w1_fig(results, t, "deliveries_per_cpu_s")
        capped = any((r.get("summary") or {}).get("capped") for r in _runs(results, "W1", t))
        if any((r.get("summary") or {}).get("unsustained") for r in _runs(results, "W1", t)):
            per_cpu_note = " (first step: none sustained)"
        else:
            per_cpu_note = ""
        rows.append(
            f"| {NAMES[t]} | {fmt(_w1_fig(results, t, 'sustainable_deliveries_per_s'))}"
            f"{' (highest step offered)' if capped else ''} | "
            f"{fmt(_w1_fig(results, t, 'rate'))} | {fmt(_w1_fig(results, t, 'p99_ms'), 1, ' ms')} "
            f"| {fmt(per_cpu)}{per_cpu_note} | {fmt(_w1_fig(results, t, 'gen_cpu'), 2)} | "
            f"{_r(_ratio(ours, per_cpu))} |"
        )
    rows += ["", "Every step of the first run (rate → p99, lost, server CPU-s):", ""]
    for t in ("ours-sqlite", "ours-pg", "u", "p"):
        runs = _runs(results, "W1", t)
        if not runs:
            continue
        parts = []
        for st in runs[0]["steps"]:
            lat = st.get("latency_ms") or {}
            parts.append(
                f"{st['rate']} → {lat.get('p99', '–')} ms, lost {st['lost']}, "
                f"{st['server_cpu_s']:.1f} CPU-s"
            )
        rows.append(f"- {NAMES[t]}: " + "; ".join(parts))
    return rows


def _latency_table(results: dict[str, Any], w: str, targets: tuple[str, ...]) -> list[str]:
    rows = [
        "| server | p50 | p90 | p99 | max | lost | duplicates | server CPU-s | generator CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in targets:
        runs = _runs(results, w, t)
        if not runs:
            continue
        steps = [_step(r) or {} for r in runs]
        rows.append(
            f"| {NAMES[t]} | {fmt(_lat(runs, 'p50'), 2, ' ms')} | "
            f"{fmt(_lat(runs, 'p90'), 2, ' ms')} | {fmt(_lat(runs, 'p99'), 2, ' ms')} | "
            f"{fmt(_lat(runs, 'max'), 1, ' ms')} | {fmt(spread([s.get('lost') for s in steps]))} "
            f"| {fmt(spread([s.get('dup') for s in steps]))} | "
            f"{fmt(spread([s.get('server_cpu_s') for s in steps]), 1)} | "
            f"{fmt(spread([s.get('gen_cpu') for s in steps]), 2)} |"
        )
    return rows


def _w2(results: dict[str, Any], size: dict[str, Any]) -> list[str]:
    return [
        f"{size['w2_rooms']} rooms × {size['w2_members']} members (one connection each), one "
        f"sender per room, {size['w2_rate']} msg/s in all for {size['w2_s']} s; latency per "
        "delivery; lost = deliveries expected minus received after a 5 s drain.",
        "",
        *_latency_table(results, "W2", ("ours-sqlite", "ours-pg", "u", "p")),
    ]


def _w3(results: dict[str, Any], size: dict[str, Any]) -> list[str]:
    return [
        f"One sender, one receiver, 10 msg/s for {size['w3_s']} s. Ours and S commit before "
        "the message is delivered (durable); U and P keep nothing. S's receiver long-polls "
        "`/sync`.",
        "",
        *_latency_table(results, "W3", ("ours-sqlite", "ours-pg", "u", "p", "s")),
    ]


def _w4(results: dict[str, Any], size: dict[str, Any]) -> list[str]:
    rows = [
        f"Ours: {size['w4_connections']} connections (users) sending to 50 rooms, "
        f"{size['w4_window']} sends in flight each, for {size['w4_s']} s; an ack is sent "
        f"after the commit. S: {size['w4_s_concurrency']} concurrent `PUT …/send` loops "
        "(answered after the event is persisted). U and P persist nothing and are not run.",
        "",
        "| server | acked msg/s | ack p50 | ack p99 | server CPU ms per ack | sends refused |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in ("ours-pg", "ours-sqlite", "s"):
        runs = _runs(results, "W4", t)
        if not runs:
            continue
        per_ack = spread(
            [
                1000 * r["server_cpu_s"] / r["acked"] if r.get("acked") else None
                for r in runs
                if "server_cpu_s" in r
            ]
        )
        rows.append(
            f"| {NAMES[t]} | {fmt(spread([r.get('acked_per_s') for r in runs]), 0)} | "
            f"{fmt(spread([(r.get('ack_ms') or {}).get('p50') for r in runs]), 1, ' ms')} | "
            f"{fmt(spread([(r.get('ack_ms') or {}).get('p99') for r in runs]), 1, ' ms')} | "
            f"{fmt(per_ack, 2)} | "
            f"{fmt(spread([(r.get('errors') or {}).get('count') for r in runs]))} |"
        )
    samples = {
        sample
        for t in ("ours-pg", "ours-sqlite")
        for r in _runs(results, "W4", t)
        for sample in (r.get("errors") or {}).get("samples", [])
    }
    if samples:
        rows += ["", "Refusals seen: " + "; ".join(f"`{x}`" for x in sorted(samples)[:3])]
    return rows


def _herd_done(run: dict[str, Any]) -> float | None:
    """Seconds until the last client caught up, or None when not all did in time."""
    if run.get("caught_up") != run.get("clients"):
        return None
    value = run.get("all_done_s")
    return float(value) if value is not None else None


def _w5(results: dict[str, Any], size: dict[str, Any]) -> list[str]:
    rows = [
        f"Catch-up: one client subscribes with `since` 1,000 behind, time from `subscribe` to "
        f"`subscribed` (all of them delivered before it), {size['w5_repeats']} times per run, "
        "each repeat one event further behind (1,000 + r), so that none is served from the "
        "server's reuse of a range read in the last second. "
        f"Herd: {size['w5_herd']} clients connect at once (log in with a token, `hello`, "
        "subscribe 100 behind in one room); time until the last has its `subscribed`. Only "
        "ours keeps history; U and P have none and S has no comparable resume.",
        "",
        "| server | catch-up p50 | catch-up p99 | herd: all caught up | herd: caught up / "
        "clients | herd p50 per client |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in ("ours-sqlite", "ours-pg"):
        cu = _runs(results, "W5-catchup", t)
        herd = _runs(results, "W5-herd", t)
        if not cu and not herd:
            continue
        rows.append(
            f"| {NAMES[t]} | "
            f"{fmt(spread([(r.get('ms') or {}).get('p50') for r in cu]), 1, ' ms')} | "
            f"{fmt(spread([(r.get('ms') or {}).get('p99') for r in cu]), 1, ' ms')} | "
            f"{fmt(spread([_herd_done(r) for r in herd]), 2, ' s')} | "
            f"{fmt(spread([r.get('caught_up') for r in herd]))} / {size['w5_herd']} | "
            f"{fmt(spread([(r.get('per_client_ms') or {}).get('p50') for r in herd]), 0, ' ms')} |"
        )
    return rows


def _w6(results: dict[str, Any], size: dict[str, Any]) -> list[str]:
    capped = (
        f" (fewer than asked: the machine allows {size['w6_fd_limit']:,} file descriptors per "
        "process, and server and generator each need some besides the connections)"
        if "w6_fd_limit" in size
        else ""
    )
    rows = [
        f"{size['w6_connections']:,} connections to a freshly started server{capped}, each "
        "subscribed to one of 50 rooms, then idle; server RSS after minus before, per open "
        "connection.",
        "",
        "| server | KiB per connection | open | RSS before → after |",
        "|---|---:|---:|---:|",
    ]
    for t in ("ours-sqlite", "u", "p"):
        runs = _runs(results, "W6", t)
        if not runs:
            continue
        rows.append(
            f"| {NAMES[t]} | {fmt(spread([r.get('kib_per_connection') for r in runs]), 1)} | "
            f"{fmt(spread([r.get('open') for r in runs]))} | "
            f"{fmt(spread([r.get('rss_before_kib', 0) / 1024 for r in runs]), 0, ' MiB')} → "
            f"{fmt(spread([r.get('rss_after_kib', 0) / 1024 for r in runs]), 0, ' MiB')} |"
        )
    return rows


def _w7_cpu(results: dict[str, Any], variant: str, with_redis: bool) -> dict[str, Any] | None:
    vals: list[float | None] = []
    for r in _runs(results, "W7", variant):
        st = _step(r)
        if not st or not st.get("received"):
            vals.append(None)
            continue
        cpu = st["server_cpu_s"] + (st.get("redis_cpu_s", 0.0) if with_redis else 0.0)
        vals.append(1e6 * cpu / st["received"])
    return spread(vals)


def _w7_tax(results: dict[str, Any], with_redis: bool) -> float | None:
    return _ratio(
        _w7_cpu(results, "two-redis", with_redis), _w7_cpu(results, "one", with_redis=False)
    )


def _w7(results: dict[str, Any], size: dict[str, Any]) -> list[str]:
    rows = [
        f"PostgreSQL; {size['w7_subscribers']} subscribers of one room at {size['w7_rate']} "
        f"msg/s for {size['w7_s']} s. *One*: one process, in-process broker. *Two + Redis*: "
        "two processes sharing Redis, the subscribers split between them, the senders on the "
        "first. CPU per delivery = the server processes' CPU (and the Redis server's, which "
        "other work on this machine also uses) over deliveries.",
        "",
        "| variant | µs server CPU per delivery | with Redis's CPU | p99 | lost |",
        "|---|---:|---:|---:|---:|",
    ]
    for variant, name in (("one", "one process"), ("two-redis", "two processes + Redis")):
        runs = _runs(results, "W7", variant)
        if not runs:
            continue
        rows.append(
            f"| {name} | {fmt(_w7_cpu(results, variant, False), 1)} | "
            f"{fmt(_w7_cpu(results, variant, True), 1)} | {fmt(_lat(runs, 'p99'), 1, ' ms')} | "
            f"{fmt(spread([(_step(r) or {}).get('lost') for r in runs]))} |"
        )
    rows += [
        "",
        f"Redis tax: {_r(_w7_tax(results, False))} (server processes only), "
        f"{_r(_w7_tax(results, True))} (with Redis's CPU).",
    ]
    return rows


def main() -> None:
    """Rewrite the bench section from a saved results.json (no benchmark is run)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args()
    data = json.loads(args.results.read_text())

    class Saved:
        results = data["results"]
        size = data["size"]
        full = data["full"]
        notes = data.get("notes", [])
        notes_code = data.get("code", "server code: the working tree")
        measured = data.get("measured")

    write(Saved, args.doc)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()

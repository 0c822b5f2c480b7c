"""Small statistics for bench/: an HDR-style histogram and median-and-range summaries."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Any

# Log-linear buckets: exact below 512 µs, then 512 sub-buckets per power of two (~0.2 %),
# the same layout as bench/loadgen/loadgen.js.
_SUB = 9


def _key(v: int) -> int:
    if v < 1 << _SUB:
        return v
    e = v.bit_length() - _SUB
    return (e << _SUB) | (v >> e)


def _value(k: int) -> float:
    if k < 1 << _SUB:
        return float(k)
    e = k >> _SUB
    return ((k & ((1 << _SUB) - 1)) << e) + (1 << e) / 2


class Histogram:
    """Latencies in microseconds; percentiles in milliseconds."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.n = 0
        self.max = 0

    def record(self, us: int | float) -> None:
        v = max(0, round(us))
        self.counts[_key(v)] += 1
        self.n += 1
        self.max = max(self.max, v)

    def summary(self) -> dict[str, Any]:
        if not self.n:
            return {"n": 0}
        keys = sorted(self.counts, key=_value)
        out: dict[str, Any] = {"n": self.n}
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)):
            want = math.ceil(q * self.n)
            seen = 0
            for k in keys:
                seen += self.counts[k]
                if seen >= want:
                    out[name] = min(_value(k), self.max) / 1000
                    break
        out["max"] = self.max / 1000
        return out


def spread(values: list[float | None]) -> dict[str, float | int] | None:
    """Median, min and max of repeated runs (None values are runs without a figure)."""
    got = [v for v in values if v is not None]
    if not got:
        return None
    return {"median": statistics.median(got), "min": min(got), "max": max(got), "runs": len(got)}


def fmt(s: dict[str, Any] | None, digits: int = 0, unit: str = "") -> str:
    """`median (min–max)`, or `–` without a figure."""
    if not s:
        return "–"
    f = f"{{:,.{digits}f}}"
    m = f.format(s["median"])
    if s["runs"] == 1 or s["min"] == s["max"]:
        return f"{m}{unit}"
    return f"{m}{unit} ({f.format(s['min'])}–{f.format(s['max'])})"

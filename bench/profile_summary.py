"""Summarise a py-spy collapsed-stack file (`py-spy record -f raw`): inclusive and self time.

.venv/bin/python -m bench.profile_summary /tmp/w1.spy [--top 25] [--filter chat/]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m['func']} ({path})"


def summarise(path: str) -> tuple[int, Counter[str], Counter[str]]:
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            n = int(count)
            frames = [_short(fr) for fr in stack.split(";")]
            total += n
            for fr in set(frames):
                inclusive[fr] += n
            own[frames[-1]] += n
    return total, inclusive, own


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--filter", default="")
    args = parser.parse_args()
    total, inclusive, own = summarise(args.file)
    print(f"{total} samples")
    print("inclusive:")
    for fr, n in inclusive.most_common():
        if args.filter in fr:
            print(f"  {100 * n / total:5.1f}%  {fr}")
            args.top -= 1
            if args.top <= 0:
                break
    print("self:")
    for fr, n in own.most_common(25):
        print(f"  {100 * n / total:5.1f}%  {fr}")


if __name__ == "__main__":
    main()

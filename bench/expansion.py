"""Expansion cost against series age: slotblock's re-anchored expansion vs dateutil's
`between()`, side by side in one run (medians of repeats; ratios are what to read).

    .venv/bin/python bench/expansion.py [--series 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from dateutil.rrule import rrulestr

from slotblock.core import recurrence as rec
from slotblock.core.isotime import parse_iso

RULES = ("FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=MONTHLY", "FREQ=DAILY;INTERVAL=2")
ZONE = "America/New_York"
WINDOW = (parse_iso("2026-11-01T00:00:00Z"), parse_iso("2026-12-02T00:00:00Z"))  # 31 days


def make(count: int, first: str) -> list[rec.Series]:
    """`count` endless series starting on the Monday `first`, at different hours."""
    start = parse_iso(first)
    out = []
    for i in range(count):
        s = start + (i % 12) * 3_600_000
        rule = rec.parse_rule(RULES[i % len(RULES)], start_ms=s, zone_name=ZONE, max_count=1000)
        out.append(rec.Series(s, 1_800_000, ZONE, rule, None))
    return out


def ours(series: list[rec.Series]) -> int:
    return sum(len(rec.overlapping(s, *WINDOW, 100_000)) for s in series)


def dateutil_between(series: list[rec.Series]) -> int:
    total = 0
    for s in series:
        walker = rrulestr(s.rule.text, dtstart=rec._wall(s.start_ms, s.tz))
        lo = rec._wall(WINDOW[0] - s.duration_ms, s.tz)
        total += len(walker.between(lo, rec._wall(WINDOW[1], s.tz) + timedelta(days=1)))
    return total


def median_ms(
    work: Callable[[list[rec.Series]], int], series: list[rec.Series], repeats: int
) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        work(series)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    fresh = make(args.series, "2026-11-02T09:00:00-05:00")
    aged = make(args.series, "2023-11-06T09:00:00-05:00")
    rows = [
        ("slotblock, series started this month", median_ms(ours, fresh, args.repeats)),
        ("slotblock, series started 3 years earlier", median_ms(ours, aged, args.repeats)),
        (
            "dateutil between(), started this month",
            median_ms(dateutil_between, fresh, args.repeats),
        ),
        (
            "dateutil between(), started 3 years earlier",
            median_ms(dateutil_between, aged, args.repeats),
        ),
    ]
    print(f"{args.series} series, 31-day window, median of {args.repeats}")
    for name, ms in rows:
        print(f"  {name:<48} {ms:8.1f} ms")
    print(
        f"  aged/fresh: slotblock {rows[1][1] / rows[0][1]:.2f}x, dateutil {rows[3][1] / rows[2][1]:.2f}x"
    )
    print(f"  dateutil/slotblock on aged series: {rows[3][1] / rows[1][1]:.1f}x")


if __name__ == "__main__":
    main()

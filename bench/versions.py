"""Two versions of slotblock side by side: the hot path's measurements against `slotblock
serve` from this checkout and from another checkout of an earlier commit, on one database
per backend, in shuffled rounds (each figure the median of its rounds).

    git worktree add /tmp/slotblock-before <commit>
    .venv/bin/python -m bench.versions --before /tmp/slotblock-before
    .venv/bin/python -m bench.versions --before /tmp/slotblock-before --backends postgresql --pin

The other version runs with this checkout's Python and dependencies and its own `src/`
first on PYTHONPATH, so the two must need the same dependencies and the same migrations
(the database is migrated by this checkout). Both run as `make bench` runs slotblock: rate
limits counting every request, the access log, metrics and request ids on. Measured for each:
the seed query over distinct windows (1 minute apart) and over one repeated window, 31 days
over 200 weekly series (distinct windows, 1 hour apart), a create, and the seed query's
req/s at concurrency 16. The last column is this checkout's figure over the other's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from bench import data
from bench.hotpath import (
    MINUTE,
    PRODUCTION,
    Options,
    _environment,
    add_series,
    create_body,
    measure,
    pinning,
    rounds,
    urls,
)
from bench.run import database, load, process
from tests.live import free_port

FIGURES = (
    ("seed distinct", "p50_ms", "seed, distinct windows, p50 ms"),
    ("seed repeated", "p50_ms", "seed, one repeated window, p50 ms"),
    ("series distinct", "p50_ms", "31 days x 200 series, distinct windows, p50 ms"),
    ("create", "p50_ms", "create, p50 ms"),
    ("seed c16", "rps", "seed at concurrency 16, req/s"),
)


def jobs(u: dict[str, str], token: str, o: Options) -> dict[str, Callable[[int], dict[str, float]]]:
    """One version's measurements; a round's distinct windows are its own (none repeats)."""
    return {
        "seed distinct": lambda r: measure(u["seed"], token, o, vary=MINUTE + r),
        "seed repeated": lambda _: measure(u["seed"], token, o),
        "series distinct": lambda r: measure(u["series"], token, o, vary=60 * MINUTE + r),
        "create": lambda _: measure(u["create"], token, o, body=create_body()),
        "seed c16": lambda _: measure(u["seed"], token, o, concurrency=16),
    }


def run(backend: str, before: Path, o: Options, n: int, scratch: Path, label: str) -> str:
    now_ms = data.fixed_now()
    with ExitStack() as stack:
        url = stack.enter_context(database(backend, n, scratch))
        _, token = asyncio.run(load(url, n, now_ms))
        asyncio.run(add_series(url, now_ms))
        env = {**_environment(), **PRODUCTION}
        versions = {
            "this checkout": env,
            "before": {**env, "PYTHONPATH": str(before / "src")},
        }
        all_jobs = {}
        for version, environment in versions.items():
            port = free_port()
            args = [*o.pin.server, sys.executable, "-m", "slotblock", "serve"]
            args += ["--port", str(port), "--database-url", url]
            stack.enter_context(process(args, f"http://127.0.0.1:{port}/healthz", environment))
            for name, job in jobs(urls(f"http://127.0.0.1:{port}", now_ms), token, o).items():
                all_jobs[f"{version}: {name}"] = job
        figures = rounds(all_jobs, o.rounds)
    lines = [
        f"{backend}, N = {n:,}, {o.rounds} shuffled rounds; pinning {'on' if o.pin.on else o.pin.note}",
        "",
        f"| figure | {label} | this checkout | this / {label} |",
        "|---|---|---|---|",
    ]
    for name, key, what in FIGURES:
        old = figures[f"before: {name}"][key]
        new = figures[f"this checkout: {name}"][key]
        lines.append(f"| {what} | {old:.3f} | {new:.3f} | {new / old:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="a checkout of another commit")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--label", default="before", help="the other checkout's name in the table")
    args = parser.parse_args()
    if not (args.before / "src" / "slotblock").is_dir():
        parser.error(f"{args.before} is not a checkout of slotblock (no src/slotblock)")
    pin = pinning(args.pin, shutil.which("taskset"), os.sched_getaffinity(0))
    backends = args.backends.split(",")
    o = Options([args.n], backends, args.sequential, args.seconds, args.rounds, pin)
    with tempfile.TemporaryDirectory(prefix="slotblock-versions-") as tmp:
        for backend in backends:
            print(f"{backend} ...", file=sys.stderr, flush=True)
            table = run(backend, args.before.resolve(), o, args.n, Path(tmp), args.label)
            print(table, "\n", flush=True)


if __name__ == "__main__":
    main()

"""What the HTTP edge costs the repeated window: the floor app (bench/floor.py) as `make
bench` serves it, then with slotblock's uvicorn options, then behind slotblock's outermost
middleware with the access log on, beside slotblock itself answering its repeated seed
window (an answer-cache hit) with the production machinery on, with the access log off, and
with the access log and rate limits off. Side by side, in shuffled rounds: the p50 of
sequential requests and the req/s at concurrency 16; each figure the median of its rounds.

    .venv/bin/python -m bench.edge                 # SQLite, N = 2k, 5 rounds
    .venv/bin/python -m bench.edge --pin --rounds 7 --seconds 4
    .venv/bin/python -m bench.edge --database-url postgresql://postgres@127.0.0.1/empty_db

--pin: servers on one CPU, load generators on another (as `bench.hotpath --pin`).
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
from bench.hotpath import Options, _body, measure, pinning, rounds, server, urls
from bench.run import ROOT, load, process
from tests.live import free_port

FLOORS = {
    "floor (uvicorn's defaults)": [],
    "floor + slotblock's uvicorn options": ["--edge"],
    "floor + uvicorn options + request id, metrics, access log": ["--edge", "--observed"],
}
SERVERS = {
    "slotblock, production machinery on": {},
    "slotblock, access log off": {"SLOTBLOCK_ACCESS_LOG": "false"},
    "slotblock, access log and rate limits off": {
        "SLOTBLOCK_ACCESS_LOG": "false",
        "SLOTBLOCK_RATE_LIMIT_BURST": "0",
        "SLOTBLOCK_RATE_LIMIT_DAILY": "0",
    },
}


def _job(url: str, token: str, o: Options) -> Callable[[int], dict[str, float]]:
    def both(_: int) -> dict[str, float]:
        sequential = measure(url, token, o)
        concurrent = measure(url, token, o, concurrency=16)
        return {"p50_ms": sequential["p50_ms"], "rps": concurrent["rps"]}

    return both


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sequential", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--database-url", help="an empty, migrated database (default: SQLite)")
    args = parser.parse_args()
    pin = pinning(args.pin, shutil.which("taskset"), os.sched_getaffinity(0))
    o = Options([args.n], ["sqlite"], args.sequential, args.seconds, args.rounds, pin)
    now_ms = data.fixed_now()
    with tempfile.TemporaryDirectory(prefix="slotblock-edge-") as tmp, ExitStack() as stack:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'edge.db'}"
        _, token = asyncio.run(load(url, args.n, now_ms))
        jobs: dict[str, Callable[[int], dict[str, float]]] = {}
        body = b""
        for name, settings in SERVERS.items():
            port = free_port()
            stack.enter_context(server(url, port, settings, o))
            seed = urls(f"http://127.0.0.1:{port}", now_ms)["seed"]
            body = body or _body(seed, token)
            jobs[name] = _job(seed, token, o)
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        for name, flags in FLOORS.items():
            port = free_port()
            at = f"http://127.0.0.1:{port}/calendars/blocked-slots?locationId=x"
            cmd = [*o.pin.server, sys.executable, str(ROOT / "floor.py"), str(port), str(body_file)]
            cmd += flags
            stack.enter_context(process(cmd, at))
            jobs[name] = _job(at, "x", o)
        figures = rounds(jobs, args.rounds)
    floor = figures["floor (uvicorn's defaults)"]
    print(f"repeated seed window, N = {args.n:,}, {url.split(':')[0]}, {args.rounds} shuffled "
          f"rounds of {args.sequential} sequential requests and {args.seconds:g} s at "
          f"concurrency 16; {len(body):,}-byte answer; pinning {'on' if pin.on else pin.note}\n")  # fmt: skip
    print("| server | p50 ms | x the floor | c16 req/s | share of the floor's |")
    print("|---|---|---|---|---|")
    for name in (*FLOORS, *SERVERS):
        f = figures[name]
        print(f"| {name} | {f['p50_ms']:.3f} | {f['p50_ms'] / floor['p50_ms']:.2f}x "
              f"| {f['rps']:.0f} | {f['rps'] / floor['rps']:.0%} |")  # fmt: skip


if __name__ == "__main__":
    main()

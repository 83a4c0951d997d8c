"""What the HTTP edge costs the repeated window: the floor app (bench/floor.py) as `make
bench` serves it, then with slotblock's uvicorn options, then behind slotblock's outermost
middleware with the access log on, beside slotblock itself answering its repeated seed
window (an answer-cache hit) with the production machinery on and with the access log off.
Side by side, in shuffled rounds; each figure the median of its rounds' p50s.

    .venv/bin/python -m bench.edge                 # SQLite, N = 2k, 5 rounds of 300 requests
    .venv/bin/python -m bench.edge --rounds 9 --sequential 500
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from bench import data
from bench.hotpath import Options, _body, measure, rounds, server, urls
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
}


def _job(url: str, token: str, o: Options) -> Callable[[int], dict[str, float]]:
    return lambda _: measure(url, token, o)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sequential", type=int, default=300)
    args = parser.parse_args()
    o = Options([args.n], ["sqlite"], args.sequential, 1.0, args.rounds)
    now_ms = data.fixed_now()
    with tempfile.TemporaryDirectory(prefix="slotblock-edge-") as tmp, ExitStack() as stack:
        url = f"sqlite:///{Path(tmp) / 'edge.db'}"
        _, token = asyncio.run(load(url, args.n, now_ms))
        jobs: dict[str, Callable[[int], dict[str, float]]] = {}
        body = b""
        for name, settings in SERVERS.items():
            port = free_port()
            stack.enter_context(server(url, port, settings))
            seed = urls(f"http://127.0.0.1:{port}", now_ms)["seed"]
            body = body or _body(seed, token)
            jobs[name] = _job(seed, token, o)
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        for name, flags in FLOORS.items():
            port = free_port()
            floor = f"http://127.0.0.1:{port}/calendars/blocked-slots?locationId=x"
            cmd = [sys.executable, str(ROOT / "floor.py"), str(port), str(body_file), *flags]
            stack.enter_context(process(cmd, floor))
            jobs[name] = _job(floor, "x", o)
        figures = rounds(jobs, args.rounds)
    base = figures["floor (uvicorn's defaults)"]["p50_ms"]
    print(f"repeated seed window, N = {args.n:,}, {args.rounds} shuffled rounds of "
          f"{args.sequential} sequential requests; {len(body):,}-byte answer\n")  # fmt: skip
    print("| server | p50 ms | x the floor |\n|---|---|---|")
    for name in (*FLOORS, *SERVERS):
        p50 = figures[name]["p50_ms"]
        print(f"| {name} | {p50:.3f} | {p50 / base:.2f}x |")


if __name__ == "__main__":
    main()

"""The server's memory under distinct windows: its RSS against what the caches account.

    .venv/bin/python -m bench.memory                       # SQLite, default cache settings
    .venv/bin/python -m bench.memory --backend postgresql --requests 6000
    .venv/bin/python -m bench.memory --env SLOTBLOCK_EXPANSION_CACHE_BYTES=0

A real `slotblock serve` (production settings, rate limits raised) over the benchmark's data
(N = 10k blocks, plus a calendar of 200 endless weekly series). The workload is distinct
windows, no two alike: 1, 7 or 31 days anywhere in two years, on a calendar, a user, a group
or the series calendar, written in one of three zones; with `--availability`, a fifth of the
requests are free/busy and free slots instead. Every `--every` requests it prints the
process's RSS (VmRSS) and the bytes each cache accounts (from /metrics), and at the end the
RSS growth against the sum of the cache bounds: the envelope the README states.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import data
from bench.hotpath import PRODUCTION, add_series, series_calendar
from bench.run import database, load, process, rss_mb
from tests.live import free_port

N = 10_000
CACHES = ("expansion", "fragments", "answers", "blocks", "parsed_queries")
BOUNDS = {
    "expansion": "SLOTBLOCK_EXPANSION_CACHE_BYTES",
    "fragments": "SLOTBLOCK_FRAGMENT_CACHE_BYTES",
    "answers": "SLOTBLOCK_ANSWER_CACHE_BYTES",
    "blocks": "SLOTBLOCK_BLOCK_CACHE_BYTES",
    "parsed_queries": "SLOTBLOCK_PARSED_QUERY_CACHE_BYTES",
}
DEFAULT_BOUNDS = {
    "expansion": 32,
    "fragments": 32,
    "answers": 16,
    "blocks": 16,
    "parsed_queries": 1,
}  # MiB
ZONES = ("", "&timeZone=UTC", "&timeZone=America/Los_Angeles")
MIB = 1024 * 1024


def paths(rng: random.Random, now_ms: int, availability: bool) -> str:
    """One distinct request (the start is drawn to the millisecond)."""
    t = data.tenant(0)
    start = now_ms - 365 * data.DAY + rng.randrange(0, 730 * data.DAY)
    days = rng.choice((1, 7, 7, 31))
    window = f"startTime={start}&endTime={start + days * data.DAY}"
    if availability and rng.random() < 0.2:
        calendar = rng.choice(t.calendars).id
        if rng.random() < 0.5:
            return (
                f"/calendars/free-busy?locationId={t.location.id}&calendarId={calendar}"
                f"&userId={rng.choice(t.users)}&{window}"
            )
        day = start - start % data.DAY
        return f"/calendars/{calendar}/free-slots?startDate={day}&endDate={day + 7 * data.DAY}"
    target = rng.choice(
        (
            f"calendarId={rng.choice(t.calendars).id}",
            f"userId={rng.choice(t.users)}",
            f"groupId={rng.choice(t.groups).id}",
            f"calendarId={series_calendar(t).id}",
        )
    )
    return (
        f"/calendars/blocked-slots?locationId={t.location.id}&{target}&{window}{rng.choice(ZONES)}"
    )


def cache_bytes(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = dict.fromkeys(CACHES, 0.0)
    for name, value in re.findall(r'^slotblock_cache_bytes\{cache="(\w+)"\} (\S+)$', text, re.M):
        found[name] = float(value)
    return found


def bounds_mib(env: dict[str, str]) -> dict[str, float]:
    return {
        name: int(env[BOUNDS[name]]) / MIB if BOUNDS[name] in env else DEFAULT_BOUNDS[name]
        for name in CACHES
    }


def run(backend: str, requests: int, every: int, env: dict[str, str], availability: bool) -> None:
    now_ms = data.fixed_now()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as scratch, database(backend, N, Path(scratch)) as url:
        _, token = asyncio.run(load(url, N, now_ms))
        asyncio.run(add_series(url, now_ms))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "slotblock", "serve", "--port", str(port)]
        args += ["--database-url", url]
        environment = {**PRODUCTION, "SLOTBLOCK_ACCESS_LOG": "false", **env}
        with process(args, f"{base}/healthz", _with_path(environment)) as proc:
            headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                client.get(paths(rng, now_ms, availability))
                idle = rss_mb(proc.pid)
                print(f"backend {backend}, bounds (MiB) {bounds_mib(env)}")
                print("requests | RSS MB | growth MB | accounted MB " + " ".join(CACHES))
                statuses: dict[int, int] = {}
                began = time.perf_counter()
                for n in range(1, requests + 1):
                    status = client.get(paths(rng, now_ms, availability)).status_code
                    statuses[status] = statuses.get(status, 0) + 1
                    if n % every == 0 or n == requests:
                        _line(n, proc.pid, idle, cache_bytes(base))
                seconds = time.perf_counter() - began
                final = rss_mb(proc.pid)
        total = sum(bounds_mib(env).values())
        print(f"statuses {statuses}, {seconds:.0f} s")
        print(
            f"RSS {idle:.0f} MB idle -> {final:.0f} MB after {requests} distinct requests: "
            f"growth {final - idle:.0f} MB = {(final - idle) / total:.2f} x the cache bounds "
            f"({total:.0f} MiB)"
        )


def _with_path(env: dict[str, str]) -> dict[str, str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}
    return {**base, **env}


def _line(n: int, pid: int, idle: float, accounted: dict[str, float]) -> None:
    rss = rss_mb(pid)
    parts = " ".join(f"{accounted[c] / MIB:6.1f}" for c in CACHES)
    print(f"{n:8d} | {rss:6.0f} | {rss - idle:9.0f} | {sum(accounted.values()) / MIB:6.1f} {parts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=4_000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--availability", action="store_true")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    o = parser.parse_args()
    env = dict(item.split("=", 1) for item in o.env)
    run(o.backend, o.requests, o.every, env, o.availability)


if __name__ == "__main__":
    main()

"""The query hot path against its floor, with the production machinery on: `make bench`.

    .venv/bin/python -m bench.hotpath                          # N = 10k and 1M, both backends
    .venv/bin/python -m bench.hotpath --sizes 10000 --backends sqlite --seconds 2
    .venv/bin/python -m bench.hotpath --pin                    # servers on CPU 0, load on CPU 1

Every slotblock server here runs as in production: rate limiting on and counting every
request (limits raised so that the benchmark's own traffic is never refused), the access log
(to a discarded stderr), /metrics, request ids. The floor is uvicorn + FastAPI answering the
same bytes from memory (bench/floor.py). Measured per backend and N: the seed query (one
calendar, 7 days) over distinct windows (each request 1 minute later than the one before, so
no two alike) and over one repeated window; a 31-day window over a calendar of 200 weekly
series, distinct windows (1 hour apart); concurrency 16 (wrk where installed, else
bench/load.py); creates, sequential and at concurrency 16; the server's memory; on
PostgreSQL, one round trip to the benchmark's database (the p50 of `SELECT 1` on one open
asyncpg connection). The floors run beside the server, and every figure and its floor are
measured in `--rounds` rounds (3), each in a shuffled order, a third of the requests per
round; a figure is the median of its rounds, so that the machine's drift moves a figure and
its floor alike. At the smallest N, the steps of the hot path side by side (each a server
with some settings off, one pass), and `--workers 2`.

The targets (PASS/MISS), 1-5 at the smallest N, 6 comparing the largest N with the smallest:

1. seed query, distinct windows: p50 <= 1.5x the floor's p50 on SQLite; on PostgreSQL
   <= 1.5x the floor's p50 + one PostgreSQL round trip (p50, measured in the same rounds);
2. seed query, repeated window: p50 <= 1.0x the floor's (+ one round trip on PostgreSQL);
3. 31-day window over 200 weekly series: p50 <= 3x its own floor's (both backends);
4. concurrency 16: req/s >= 60% of the floor's on SQLite, >= 50% on PostgreSQL;
5. create: p50 <= 2x the distinct seed query's p50 (both);
6. seed query p50 at the largest N <= 1.1x the smallest N's (both).

Each target's line also shows figures that are not part of its verdict, marked so: the p99
tails (the server's and the floor's at concurrency 16, creates at concurrency 16), the share
of seed answers under 1 and 10 ms inside the server (its /metrics histogram), RSS growth.

--pin (off by default): where `taskset` exists and at least 2 CPUs are usable, every server
(slotblock and the floors) runs under `taskset -c` the first CPU and every load generator
(bench/load.py, and wrk, which it starts) and the round-trip client under the second, so
that concurrency figures are measured with server and load on separate cores (PostgreSQL's
own server, a service of the machine, is not pinned); else it says why it is skipped. The report's header says whether pinning was on. Prints the table and
the targets and writes them into bench/RESULTS.md (`--output`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa

from bench import data
from bench.run import ROOT, database, load, process, rss_mb
from slotblock.core.model import Block, Calendar
from slotblock.store import blocks as block_store
from slotblock.store import open_store
from slotblock.store.tables import calendars
from tests.live import free_port

LOAD = [sys.executable, str(ROOT / "load.py")]
MINUTE = 60_000
PRODUCTION = {
    "SLOTBLOCK_RATE_LIMIT_BURST": "1000000000",
    "SLOTBLOCK_RATE_LIMIT_DAILY": "1000000000",
    "SLOTBLOCK_AUTH_FAILURE_LIMIT": "20",
    "SLOTBLOCK_ACCESS_LOG": "true",
    "SLOTBLOCK_METRICS": "open",
}
_OFF = {
    "SLOTBLOCK_EXPANSION_CACHE_BYTES": "0",
    "SLOTBLOCK_FRAGMENT_CACHE_BYTES": "0",
    "SLOTBLOCK_ANSWER_CACHE_BYTES": "0",
    "SLOTBLOCK_LEAN_QUERY_ROUTE": "false",
}
STEPS: tuple[tuple[str, dict[str, str]], ...] = (
    ("no caches, reads through SQLAlchemy", {**_OFF, "SLOTBLOCK_DIRECT_READS": "false"}),
    ("+ window query on the driver", _OFF),
    ("+ encoded event per block version", {**_OFF, "SLOTBLOCK_FRAGMENT_CACHE_BYTES": "33554432"}),
    (
        "+ series instances per week",
        {"SLOTBLOCK_ANSWER_CACHE_BYTES": "0", "SLOTBLOCK_LEAN_QUERY_ROUTE": "false"},
    ),
    ("+ lean ASGI route", {"SLOTBLOCK_ANSWER_CACHE_BYTES": "0"}),
    ("+ answer cache (data version)", {}),
)
SERIES = 200
ROUND_TRIPS = 300  # `SELECT 1` per round, on one open connection


@dataclass(frozen=True)
class Pinning:
    """The command prefixes that put servers and load generators on their own CPUs (`--pin`),
    empty when pinning is off; `note` says which, for the report."""

    server: tuple[str, ...] = ()
    load: tuple[str, ...] = ()
    load_cpu: int | None = None
    note: str = "off"

    @property
    def on(self) -> bool:
        return bool(self.server)


def pinning(asked: bool, taskset: str | None, cpus: Iterable[int]) -> Pinning:
    """Servers on the first usable CPU, load generators on the second; off, saying why, when
    not asked, when `taskset` is missing, or with fewer than 2 usable CPUs."""
    if not asked:
        return Pinning()
    usable = sorted(cpus)
    if taskset is None:
        return Pinning(note="off (--pin asked, but taskset is not installed)")
    if len(usable) < 2:
        return Pinning(note=f"off (--pin asked, but {len(usable)} CPU is usable; it takes 2)")
    server, load = usable[:2]
    return Pinning(
        server=(taskset, "-c", str(server)),
        load=(taskset, "-c", str(load)),
        load_cpu=load,
        note=(
            f"on: every server (slotblock and the floors) under `taskset -c {server}`, the load "
            f"generators and the round-trip client under `taskset -c {load}` (PostgreSQL's own "
            "server, a service of the machine, is not pinned)"
        ),
    )


@dataclass
class Options:
    sizes: list[int]
    backends: list[str]
    sequential: int = 300
    seconds: float = 5.0
    rounds: int = 3
    pin: Pinning = field(default_factory=Pinning)


@dataclass
class Run:
    backend: str
    n: int
    figures: dict[str, dict[str, float]] = field(default_factory=dict)
    floor: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    steps: list[tuple[str, dict[str, dict[str, float]]]] = field(default_factory=list)
    workers2: dict[str, float] = field(default_factory=dict)
    rss_mb: float = 0.0
    # Of all the seed answers of the run, the share that took at most 1 ms, and at most
    # 10 ms, inside the server (its own request-duration histogram, from /metrics).
    inside: dict[str, float] = field(default_factory=dict)
    # PostgreSQL only: one `SELECT 1` round trip to the benchmark's database (p50/p99 ms).
    round_trip: dict[str, float] = field(default_factory=dict)


# --- data ----------------------------------------------------------------------------------


def series_calendar(t: data.Tenant) -> Calendar:
    return replace(t.calendars[0], id="S0000000series".ljust(20, "s"), name="Series", slug="s")


async def add_series(url: str, now_ms: int) -> None:
    """A calendar of location 0 with 200 endless weekly series, spread over the week (on
    PostgreSQL, ANALYZEd after: stale statistics planned the series calendar's window with a
    loop over the calendars table, 1.36 ms for the statement instead of 0.51)."""
    t = data.tenant(0)
    cal = series_calendar(t)
    start = now_ms - 30 * data.DAY
    blocks = [
        Block(location_id=t.location.id, id=f"S{i:06d}".ljust(20, "s"), calendar_id=cal.id,
              assigned_user_id=None, title=f"Series {i}", start_ms=start + i * 50 * MINUTE,
              end_ms=start + i * 50 * MINUTE + 30 * MINUTE, timezone=t.location.timezone,
              rrule="RRULE:FREQ=WEEKLY", last_start_ms=None, overrides=(), created_ms=now_ms,
              updated_ms=now_ms)
        for i in range(SERIES)
    ]  # fmt: skip
    store = open_store(url, pool_size=1)
    try:
        async with store.begin() as conn:
            await conn.execute(calendars.insert(), [
                {"location_id": t.location.id, "id": cal.id, "name": cal.name, "description": "",
                 "group_id": cal.group_id, "is_active": True, "calendar_type": "event", "slug": "s",
                 "extra": {}, "created_ms": now_ms, "updated_ms": now_ms}
            ])  # fmt: skip
            await block_store.insert_blocks(conn, blocks)
        if not store.is_sqlite:  # statistics that know these rows, as `load` leaves them
            async with store.begin() as conn:
                await conn.exec_driver_sql("ANALYZE")
    finally:
        await store.dispose()


# --- servers and load --------------------------------------------------------------------


def server(url: str, port: int, settings: dict[str, str], o: Options, workers: int = 1) -> Any:
    args = [*o.pin.server, sys.executable, "-m", "slotblock", "serve", "--port", str(port)]
    args += ["--database-url", url, "--workers", str(workers)]
    env = {**_environment(), **PRODUCTION, **settings}
    return process(args, f"http://127.0.0.1:{port}/healthz", env)


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}


def measure(url: str, token: str, o: Options, **how: Any) -> dict[str, float]:
    """One load run: sequential (p50 of `o.sequential` requests) or `concurrency` for a while."""
    args = [
        *o.pin.load,
        *LOAD,
        url,
        "--header",
        f"Authorization: Bearer {token}",
        "--header",
        "Version: v3",
    ]
    if how.get("concurrency"):
        args += ["--concurrency", str(how["concurrency"]), "--seconds", str(o.seconds)]
    else:
        args += ["--sequential", str(how.get("sequential", o.sequential))]
    if how.get("vary"):
        args += ["--vary", str(how["vary"])]
    if how.get("body"):
        args += ["--body", json.dumps(how["body"])]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def urls(base: str, now_ms: int) -> dict[str, str]:
    t = data.tenant(0)
    start, end = data.week_window(now_ms)
    loc = f"{base}/calendars/blocked-slots?locationId={t.location.id}"
    month = f"&startTime={start}&endTime={start + 31 * data.DAY}"
    return {
        "seed": f"{loc}&calendarId={t.calendars[0].id}&startTime={start}&endTime={end}",
        "series": f"{loc}&calendarId={series_calendar(t).id}{month}",
        "create": f"{base}/calendars/events/block-slots",
    }


def create_body() -> dict[str, str]:
    t = data.tenant(0)
    return {"locationId": t.location.id, "calendarId": t.calendars[9].id,
            "startTime": "2030-01-07T10:00:00Z", "endTime": "2030-01-07T11:00:00Z"}  # fmt: skip


def queries(u: dict[str, str], token: str, o: Options) -> dict[str, dict[str, float]]:
    return {
        "seed distinct": measure(u["seed"], token, o, vary=MINUTE),
        "seed repeated": measure(u["seed"], token, o),
        "seed c16": measure(u["seed"], token, o, concurrency=16),
    }


def run_one(backend: str, n: int, o: Options, scratch: Path, now_ms: int, first: bool) -> Run:
    run = Run(backend, n)
    with database(backend, n, scratch) as url:
        _, token = asyncio.run(load(url, n, now_ms))
        asyncio.run(add_series(url, now_ms))
        if first:
            run.steps = [(name, _step(url, token, o, now_ms, s)) for name, s in STEPS]
        port = free_port()
        with server(url, port, {}, o) as proc:
            u = urls(f"http://127.0.0.1:{port}", now_ms)
            bodies = {k: _body(u[k], token) for k in ("seed", "series")}
            with floors(bodies, scratch, o) as floor_urls:
                jobs = _jobs(u, floor_urls, token, o)
                if backend != "sqlite":
                    jobs["pg round trip"] = lambda _: _round_trip(url, o)
                figures = rounds(jobs, o.rounds)
            run.rss_mb = rss_mb(proc.pid)
            run.inside = inside_server(f"http://127.0.0.1:{port}/metrics")
        run.floor = {
            "seed": {"seq": figures.pop("floor seed"), "c16": figures.pop("floor seed c16")},
            "series": {"seq": figures.pop("floor series")},
        }
        run.round_trip = figures.pop("pg round trip", {})
        run.figures = figures
        if first:
            port = free_port()
            with server(url, port, {}, o, workers=2):
                u = urls(f"http://127.0.0.1:{port}", now_ms)
                run.workers2 = measure(u["seed"], token, o, concurrency=16)
    return run


def _jobs(u: dict[str, str], fl: dict[str, str], token: str, o: Options) -> dict[str, Job]:
    """Every figure of a run, as a measurement that one round makes once. Distinct windows
    go on where the previous round stopped (`shift`), so that no window is asked twice."""
    each = max(1, o.sequential // o.rounds)

    def distinct(url: str, step: int) -> Job:
        return lambda r: measure(shifted(url, r * each * step), token, o, sequential=each,
                                 vary=step)  # fmt: skip

    return {
        "floor seed": lambda _: measure(fl["seed"], "x", o, sequential=each),
        "floor series": lambda _: measure(fl["series"], "x", o, sequential=each),
        "seed distinct": distinct(u["seed"], MINUTE),
        "seed repeated": lambda _: measure(u["seed"], token, o, sequential=each),
        "series distinct": distinct(u["series"], 60 * MINUTE),
        "create": lambda _: measure(u["create"], token, o, body=create_body(), sequential=each),
        "floor seed c16": lambda _: measure(fl["seed"], "x", o, concurrency=16),
        "seed c16": lambda _: measure(u["seed"], token, o, concurrency=16),
        "create c16": lambda _: measure(u["create"], token, o, body=create_body(), concurrency=16),
    }


Job = Callable[[int], dict[str, float]]


def rounds(jobs: dict[str, Job], count: int) -> dict[str, dict[str, float]]:
    """Each job once per round, in a shuffled order (the same for every run of the
    benchmark): figures that machine noise moves are measured side by side. Per figure,
    the median over the rounds of each of its numbers."""
    seen: dict[str, list[dict[str, float]]] = {name: [] for name in jobs}
    for r in range(count):
        order = list(jobs)
        random.Random(r).shuffle(order)
        for name in order:
            seen[name].append(jobs[name](r))
    return {
        name: {k: statistics.median(x[k] for x in results) for k in results[0]}
        for name, results in seen.items()
    }


def _round_trip(url: str, o: Options) -> dict[str, float]:
    """One round's PostgreSQL round trip, from the load generators' CPU when pinned."""
    before = os.sched_getaffinity(0)
    if o.pin.load_cpu is not None:
        os.sched_setaffinity(0, {o.pin.load_cpu})
    try:
        return asyncio.run(round_trip(url, ROUND_TRIPS))
    finally:
        os.sched_setaffinity(0, before)


async def round_trip(url: str, count: int) -> dict[str, float]:
    """`count` times `SELECT 1` on one open asyncpg connection to the database at `url`
    (after a few unmeasured ones): p50, p99 and min in ms — what one statement's trip to
    PostgreSQL and back costs, with no query in it."""
    u = sa.make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password,
        database=u.database,
    )  # fmt: skip
    try:
        for _ in range(10):
            await conn.fetchval("SELECT 1")
        times = []
        for _ in range(count):
            began = time.perf_counter()
            await conn.fetchval("SELECT 1")
            times.append((time.perf_counter() - began) * 1000)
    finally:
        await conn.close()
    times.sort()
    return {
        "count": len(times),
        "min_ms": times[0],
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
    }


def inside_server(metrics_url: str) -> dict[str, float]:
    """From the server's `slotblock_request_duration_seconds` histogram: the share of its
    seed answers (get-blocked-slots) that took at most 1 ms and at most 10 ms inside it."""
    text = httpx.get(metrics_url, timeout=30).text
    buckets = {}
    for line in text.splitlines():
        if line.startswith("slotblock_request_duration_seconds_bucket{") and (
            'operation="get-blocked-slots"' in line
        ):
            le = re.search(r'le="([^"]+)"', line)[1]  # type: ignore[index]
            buckets[le] = float(line.rsplit(" ", 1)[1])
    total = buckets.get("+Inf", 0.0) or 1.0
    return {"1ms": buckets.get("0.001", 0.0) / total, "10ms": buckets.get("0.01", 0.0) / total}


def shifted(url: str, ms: int) -> str:
    """`url` with its startTime and endTime `ms` later."""
    return re.sub(r"(startTime|endTime)=(\d+)", lambda m: f"{m[1]}={int(m[2]) + ms}", url)


@contextmanager
def floors(bodies: dict[str, bytes], scratch: Path, o: Options) -> Iterator[dict[str, str]]:
    """A floor server per body (bench/floor.py), running beside the server measured."""
    with ExitStack() as stack:
        found = {}
        for name, body in bodies.items():
            body_file = scratch / f"floor-{name}.json"
            body_file.write_bytes(body)
            port = free_port()
            floor = [sys.executable, str(ROOT / "floor.py"), str(port), str(body_file)]
            args = [*o.pin.server, *floor]
            url = f"http://127.0.0.1:{port}/calendars/blocked-slots?locationId=x&startTime=1&endTime=2"
            stack.enter_context(process(args, url))
            found[name] = url
        yield found


def _step(url: str, token: str, o: Options, now_ms: int, settings: dict[str, str]) -> Any:
    port = free_port()
    with server(url, port, settings, o):
        return queries(urls(f"http://127.0.0.1:{port}", now_ms), token, o)


def _body(url: str, token: str) -> bytes:
    headers = {"Authorization": f"Bearer {token}", "Version": "v3"}
    response = httpx.get(url, headers=headers, timeout=30)
    response.raise_for_status()
    return response.content


# --- targets -------------------------------------------------------------------------------


# The goals of this round of hot-path work, per backend (PostgreSQL's latency goals also
# allow one round trip to the database, measured in the same rounds).
DISTINCT_GOAL = 1.5  # seed query, distinct windows: p50 x the floor's p50
REPEATED_GOAL = 1.0  # seed query, repeated window: p50 x the floor's p50
SERIES_GOAL = 3.0  # 31 days x 200 weekly series: p50 x its floor's p50
C16_GOAL = {"sqlite": 0.6, "postgresql": 0.5}  # concurrency 16: share of the floor's req/s
CREATE_GOAL = 2.0  # create p50 x the distinct seed query's p50
GROWTH_GOAL = 1.1  # seed query p50, largest N x smallest N


def _verdict(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'MISS'} — {text}"


def _info(text: str) -> str:
    return f" [not part of the verdict: {text}]"


def targets(runs: list[Run]) -> list[str]:
    """The six targets per backend, PASS or MISS on the goals alone: 1-5 at the smallest N,
    6 the largest N against the smallest."""
    out = []
    for backend in dict.fromkeys(r.backend for r in runs):
        mine = sorted((r for r in runs if r.backend == backend), key=lambda r: r.n)
        small, big = mine[0], mine[-1]
        out += _latency_targets(small)
        if big is not small:
            growth = (
                big.figures["seed distinct"]["p50_ms"] / small.figures["seed distinct"]["p50_ms"]
            )
            memory = big.rss_mb / small.rss_mb
            out.append(_verdict(growth <= GROWTH_GOAL,
                f"6. {backend}: seed p50 at N={big.n:,} is {growth:.2f}x N={small.n:,} "
                f"({big.figures['seed distinct']['p50_ms']:.3f} vs {small.figures['seed distinct']['p50_ms']:.3f} ms; goal <= {GROWTH_GOAL:g}x)"
                + _info(f"RSS {small.rss_mb:.0f} -> {big.rss_mb:.0f} MB, {memory:.2f}x")))  # fmt: skip
        else:
            out.append(f"n/a — 6. {backend}: one N only (run with --sizes 10000,1000000)")
    return out


def _latency_targets(r: Run) -> list[str]:
    f, seed, series = r.figures, r.floor["seed"], r.floor["series"]
    b = f"{r.backend} N={r.n:,}"
    sqlite = r.backend == "sqlite"
    floor_p50 = seed["seq"]["p50_ms"]

    def against_floor(name: str, goal: float) -> tuple[bool, str]:
        """p50 against `goal` x the floor's p50, plus one round trip on PostgreSQL."""
        p50 = f[name]["p50_ms"]
        text = f"p50 {p50:.3f} ms = {p50 / floor_p50:.2f}x the floor's {floor_p50:.3f} ms"
        if sqlite:
            return p50 <= goal * floor_p50, f"{text} (goal <= {goal:g}x)"
        trip = r.round_trip["p50_ms"]
        allowed = goal * floor_p50 + trip
        return p50 <= allowed, (
            f"{text}; goal <= {goal:g}x + {trip:.3f} ms round trip = {allowed:.3f} ms"
        )

    d_ok, d_text = against_floor("seed distinct", DISTINCT_GOAL)
    rep_ok, rep_text = against_floor("seed repeated", REPEATED_GOAL)
    s = f["series distinct"]["p50_ms"] / series["seq"]["p50_ms"]
    share = f["seed c16"]["rps"] / seed["c16"]["rps"]
    share_goal = C16_GOAL["sqlite" if sqlite else "postgresql"]
    tail = f["seed c16"]["p99_ms"] / f["seed c16"]["p50_ms"]
    floor_tail = seed["c16"]["p99_ms"] / seed["c16"]["p50_ms"]
    create = f["create"]["p50_ms"] / f["seed distinct"]["p50_ms"]
    create_tail = f["create c16"]["p99_ms"] / f["create c16"]["p50_ms"]
    return [
        _verdict(d_ok, f"1. {b}: seed, distinct windows: {d_text}"
                 + _info(f"p99 {f['seed distinct']['p99_ms']:.2f} ms, the floor's {seed['seq']['p99_ms']:.2f} ms")),
        _verdict(rep_ok, f"2. {b}: seed, repeated window: {rep_text}"
                 + _info(f"p99 {f['seed repeated']['p99_ms']:.2f} ms")),
        _verdict(s <= SERIES_GOAL, f"3. {b}: 31 days x {SERIES} weekly series, distinct windows: p50 {f['series distinct']['p50_ms']:.2f} ms = {s:.2f}x its floor's {series['seq']['p50_ms']:.2f} ms (goal <= {SERIES_GOAL:g}x)"),
        _verdict(share >= share_goal, f"4. {b}: concurrency 16: {f['seed c16']['rps']:.0f} req/s = {share:.0%} of the floor's {seed['c16']['rps']:.0f} (goal >= {share_goal:.0%})"
                 + _info(f"p99 {tail:.2f}x p50, the floor's {floor_tail:.2f}x; inside the server {r.inside.get('1ms', 0):.2%} of seed answers took <= 1 ms, {r.inside.get('10ms', 0):.2%} <= 10 ms")),
        _verdict(create <= CREATE_GOAL, f"5. {b}: create p50 {f['create']['p50_ms']:.2f} ms = {create:.2f}x the distinct seed query's (goal <= {CREATE_GOAL:g}x)"
                 + _info(f"at concurrency 16 p99 {f['create c16']['p99_ms']:.1f} ms = {create_tail:.1f}x p50")),
    ]  # fmt: skip


# --- report --------------------------------------------------------------------------------


def report(runs: list[Run], o: Options, command: str) -> str:
    lines = [
        "<!-- hotpath:begin -->",
        "## The query hot path, production machinery on (`make bench`)",
        "",
        f"`{command}` — {o.rounds} shuffled rounds, server and floors side by side; each "
        f"figure the median of its rounds: sequential, the p50 of {max(1, o.sequential // o.rounds)} "
        f"requests per round; concurrency 16, {o.seconds:g} s per round "
        f"({'wrk' if _has_wrk() else 'bench/load.py'}). The steps tables: one pass, each step its "
        "own server. Rate limits counting every request, access log, metrics and request ids "
        f"on in every slotblock server. PostgreSQL round trip: the p50 of {ROUND_TRIPS} `SELECT 1` "
        "per round on one open connection to the benchmark's database, in the same rounds.",
        "",
        f"CPU pinning (`--pin`): {o.pin.note}.",
        "",
        "| backend | N | floor p50 ms | PG round trip p50 ms | seed distinct p50 | seed repeated p50 | 31d x 200 series p50 (its floor) | c16 req/s (floor) | c16 p50 / p99 ms | create p50 | create c16 p50 / p99 | RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        f, fl = r.figures, r.floor
        trip = f"{r.round_trip['p50_ms']:.3f}" if r.round_trip else "-"
        lines.append(
            f"| {r.backend} | {r.n:,} | {fl['seed']['seq']['p50_ms']:.2f} | {trip} | {f['seed distinct']['p50_ms']:.2f} "
            f"| {f['seed repeated']['p50_ms']:.2f} | {f['series distinct']['p50_ms']:.2f} ({fl['series']['seq']['p50_ms']:.2f}) "
            f"| {f['seed c16']['rps']:.0f} ({fl['seed']['c16']['rps']:.0f}) | {f['seed c16']['p50_ms']:.2f} / {f['seed c16']['p99_ms']:.2f} "
            f"| {f['create']['p50_ms']:.2f} | {f['create c16']['p50_ms']:.2f} / {f['create c16']['p99_ms']:.2f} | {r.rss_mb:.0f} |"
        )  # fmt: skip
    lines += ["", "Targets (PASS/MISS on the goals alone; bracketed figures are information):", "",
              *(f"- {t}" for t in targets(runs))]  # fmt: skip
    for r in runs:
        if r.steps:
            lines += ["", f"Steps, {r.backend}, N={r.n:,}, side by side (floor p50 {r.floor['seed']['seq']['p50_ms']:.2f} ms, "
                      f"c16 {r.floor['seed']['c16']['rps']:.0f} req/s):", "",
                      "| step (cumulative) | seed distinct p50 ms | seed repeated p50 ms | c16 req/s |", "|---|---|---|---|"]  # fmt: skip
            lines += [
                f"| {name} | {s['seed distinct']['p50_ms']:.2f} | {s['seed repeated']['p50_ms']:.2f} | {s['seed c16']['rps']:.0f} |"
                for name, s in r.steps
            ]  # fmt: skip
        if r.workers2:
            shared = (
                "; pinned, so both workers share the one CPU of the servers" if o.pin.on else ""
            )
            lines += ["", f"`--workers 2`, {r.backend}: seed at concurrency 16: {r.workers2['rps']:.0f} req/s, "
                      f"p50 {r.workers2['p50_ms']:.2f} ms, p99 {r.workers2['p99_ms']:.2f} ms "
                      f"(one worker: {r.figures['seed c16']['rps']:.0f} req/s)"
                      f"{shared}."]  # fmt: skip
    return "\n".join([*lines, "<!-- hotpath:end -->"]) + "\n"


def _has_wrk() -> bool:
    return shutil.which("wrk") is not None


def write_section(path: Path, section: str) -> None:
    """Replace the hot-path section of RESULTS.md (or put it first)."""
    text = path.read_text() if path.exists() else ""
    begin, end = "<!-- hotpath:begin -->", "<!-- hotpath:end -->\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{section}\n{rest.lstrip()}" if text else section
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sequential", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "RESULTS.md")
    parser.add_argument("--pin", action="store_true",
                        help="servers on one CPU, load generators on another (taskset; 2+ CPUs)")  # fmt: skip
    args = parser.parse_args()
    pin = pinning(args.pin, shutil.which("taskset"), os.sched_getaffinity(0))
    if args.pin and not pin.on:
        print(f"--pin skipped: pinning {pin.note}", file=sys.stderr, flush=True)
    o = Options([int(x) for x in args.sizes.split(",")], args.backends.split(","),
                args.sequential, args.seconds, args.rounds, pin)  # fmt: skip
    command = "python -m bench.hotpath " + " ".join(sys.argv[1:])
    now_ms = data.fixed_now()
    runs = []
    with tempfile.TemporaryDirectory(prefix="slotblock-hotpath-") as tmp:
        for backend in o.backends:
            for i, n in enumerate(o.sizes):
                print(f"{backend} N={n:,} ...", file=sys.stderr, flush=True)
                runs.append(run_one(backend, n, o, Path(tmp), now_ms, first=i == 0))
    section = report(runs, o, command.strip())
    write_section(args.output, section)
    print(section)


if __name__ == "__main__":
    main()

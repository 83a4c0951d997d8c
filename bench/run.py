"""slotblock's benchmark: everything measured side by side in one run, reported as ratios.

    .venv/bin/python -m bench.run                 # make bench: N = 10k, 100k, 1M; SQLite and
                                                  # PostgreSQL; the CalDAV peers at 20k
    .venv/bin/python -m bench.run --smoke --output /tmp/r.md   # seconds; what make test runs

For each backend and N: bulk-load generated data through the store, start `slotblock serve`
(one worker, the production server settings) and measure over HTTP, with a load generator
in its own process: the seed query (one calendar, 7 days), by user, by group, a 31-day
window (sequential latency: min/p50/p99), the seed query at concurrency 16 (req/s, p99),
create/edit/delete throughput, and the server's memory. Beside them, in the same run: the
floor (the same HTTP stack answering the same bytes from memory) and the raw lookup (the
window query issued directly to the database). Then the CalDAV peers on 20k events in one
calendar (5% recurring), checked to return the same instance set as slotblock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa

from bench import data, peers
from slotblock.config import Settings
from slotblock.core.isotime import parse_iso
from slotblock.core.model import SCOPES, Targets
from slotblock.service.container import build_services
from slotblock.store import Store, directory, open_store
from slotblock.store import blocks as block_store
from slotblock.store.migrate import upgrade
from slotblock.store.tables import calendar_members, calendars, groups, users
from tests.live import free_port

ROOT = Path(__file__).resolve().parent
RADICALE_NOTE = (
    "A different instance set: Radicale expands a series in UTC, so the instances of a series whose "
    "DTSTART lies on the other side of a DST change from the window come back shifted by the DST "
    "offset (checked on 300 events: same count, starts one hour off). Xandikos and slotblock keep "
    "the wall clock (RFC 5545 §3.3.10) and agree exactly."
)
PG_URL = os.environ.get(
    "SLOTBLOCK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
LOAD = [sys.executable, str(ROOT / "load.py")]


@dataclass
class Profile:
    sizes: list[int]
    backends: list[str]
    peer_size: int
    sequential: int = 300
    seconds: float = 5.0
    writes: int = 200


FULL = Profile(
    sizes=[10_000, 100_000, 1_000_000], backends=["sqlite", "postgresql"], peer_size=20_000
)
SMOKE = Profile(
    sizes=[2_000], backends=["sqlite"], peer_size=0, sequential=30, seconds=0.5, writes=10
)


@dataclass
class Row:
    backend: str
    n: int
    load_s: float = 0.0
    raw_ms: float = 0.0
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    floor: dict[str, dict[str, float]] = field(default_factory=dict)
    writes_per_s: float = 0.0
    rss_mb: float = 0.0
    events: int = 0


# --- databases -----------------------------------------------------------------------------


@contextmanager
def database(backend: str, n: int, scratch: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{scratch / f'bench-{n}.db'}"
        return
    name = f"slotblock_bench_{n}_{secrets.token_hex(3)}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg(statement: str) -> None:
    url = sa.make_url(PG_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def load(url: str, n: int, now_ms: int) -> tuple[float, str]:
    """Bulk-load N blocks through the store; (seconds, a token of location 0)."""
    store = open_store(url, pool_size=2)
    try:
        await upgrade(store)
        began = time.perf_counter()
        count = max(1, n // (data.CALENDARS_PER_LOCATION * data.BLOCKS_PER_CALENDAR))
        for index in range(count):
            await _load_tenant(store, data.tenant(index), now_ms)
        if not store.is_sqlite:
            async with store.begin() as conn:
                await conn.exec_driver_sql("ANALYZE")
        seconds = time.perf_counter() - began
        services = build_services(store, Settings(database_url=url))
        token, _ = await services.tenants.create_token(data.tenant(0).location.id, SCOPES, "bench")
        return seconds, token
    finally:
        await store.dispose()


async def _load_tenant(store: Store, t: data.Tenant, now_ms: int) -> None:
    async with store.begin() as conn:
        await directory.insert_location(conn, t.location, now_ms)
        await conn.execute(users.insert(), [
            {"location_id": t.location.id, "id": u, "name": u, "email": "", "created_ms": now_ms} for u in t.users
        ])  # fmt: skip
        await conn.execute(groups.insert(), [
            {"location_id": g.location_id, "id": g.id, "name": g.name, "description": "", "slug": g.slug,
             "is_active": True, "created_ms": now_ms, "updated_ms": now_ms} for g in t.groups
        ])  # fmt: skip
        await conn.execute(calendars.insert(), [
            {"location_id": c.location_id, "id": c.id, "name": c.name, "description": "", "group_id": c.group_id,
             "is_active": True, "calendar_type": "event", "slug": c.slug, "extra": {},
             "created_ms": now_ms, "updated_ms": now_ms} for c in t.calendars
        ])  # fmt: skip
        await conn.execute(calendar_members.insert(), [
            {"location_id": c.location_id, "calendar_id": c.id, "user_id": c.team_members[0]["userId"],
             "position": 0, "extra": {}} for c in t.calendars
        ])  # fmt: skip
        await block_store.insert_blocks(conn, list(data.blocks(t, now_ms)))


async def raw_lookup(url: str, window: tuple[int, int], repeats: int) -> float:
    """Median ms of the window query issued directly to the database (no HTTP, no expansion)."""
    t = data.tenant(0)
    store = open_store(url, pool_size=1)
    try:
        targets = Targets(calendar_id=t.calendars[0].id)
        query = block_store.window_query(t.location.id, *window, targets)
        times = []
        async with store.read() as conn:
            for _ in range(repeats):
                began = time.perf_counter()
                (await conn.execute(query)).all()
                times.append((time.perf_counter() - began) * 1000)
        return statistics.median(times)
    finally:
        await store.dispose()


# --- servers and load --------------------------------------------------------------------


@contextmanager
def process(
    args: list[str], health: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(health, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{args[:3]} did not start") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def slotblock_server(url: str, port: int) -> Any:
    args = [sys.executable, "-m", "slotblock", "serve", "--port", str(port), "--database-url", url]
    # The benchmark measures throughput, not the platform's rate limits, nor the access log.
    unlimited = {
        "SLOTBLOCK_RATE_LIMIT_BURST": "0",
        "SLOTBLOCK_RATE_LIMIT_DAILY": "0",
        "SLOTBLOCK_AUTH_FAILURE_LIMIT": "0",
        "SLOTBLOCK_ACCESS_LOG": "false",
    }
    return process(args, f"http://127.0.0.1:{port}/healthz", {**os.environ, **unlimited})


def measure(url: str, token: str, p: Profile, concurrency: int = 1) -> dict[str, float]:
    headers = [f"Authorization: Bearer {token}", "Version: 2021-07-28"]
    args = [*LOAD, url, *(a for h in headers for a in ("--header", h))]
    if concurrency == 1:
        args += ["--sequential", str(p.sequential)]
    else:
        args += ["--concurrency", str(concurrency), "--seconds", str(p.seconds)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def query_urls(base: str, now_ms: int) -> dict[str, str]:
    t = data.tenant(0)
    start, end = data.week_window(now_ms)
    loc = f"{base}/calendars/blocked-slots?locationId={t.location.id}"
    return {
        "seed": f"{loc}&calendarId={t.calendars[0].id}&startTime={start}&endTime={end}",
        "user": f"{loc}&userId={t.users[0]}&startTime={start}&endTime={end}",
        "group": f"{loc}&groupId={t.groups[0].id}&startTime={start}&endTime={end}",
        "31 days": f"{loc}&calendarId={t.calendars[0].id}&startTime={start}&endTime={start + 31 * data.DAY}",
    }


def write_throughput(base: str, token: str, count: int) -> float:
    """Create, edit and delete `count` blocks, one request at a time; operations per second."""
    t = data.tenant(0)
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    body = {"locationId": t.location.id, "calendarId": t.calendars[0].id,
            "startTime": "2026-11-03T10:00:00Z", "endTime": "2026-11-03T11:00:00Z"}  # fmt: skip
    with httpx.Client(base_url=base, headers=headers) as client:
        began = time.perf_counter()
        for i in range(count):
            created = client.post("/calendars/events/block-slots", json=body).json()["id"]
            client.put(
                f"/calendars/events/block-slots/{created}",
                json={"locationId": t.location.id, "title": str(i)},
            )
            client.request("DELETE", f"/calendars/events/{created}", json={})
        return 3 * count / (time.perf_counter() - began)


def run_size(backend: str, n: int, p: Profile, scratch: Path, now_ms: int) -> Row:
    row = Row(backend, n)
    with database(backend, n, scratch) as url:
        row.load_s, token = asyncio.run(load(url, n, now_ms))
        row.raw_ms = asyncio.run(raw_lookup(url, data.week_window(now_ms), p.sequential))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with slotblock_server(url, port) as server:
            urls = query_urls(base, now_ms)
            seed_body = httpx.get(
                urls["seed"], headers={"Authorization": f"Bearer {token}", "Version": "v3"}
            ).content
            row.events = len(json.loads(seed_body)["events"])
            for name, target in urls.items():
                row.results[name] = measure(target, token, p)
            row.results["seed c16"] = measure(urls["seed"], token, p, concurrency=16)
            row.writes_per_s = write_throughput(base, token, p.writes)
            row.rss_mb = rss_mb(server.pid)
        row.floor = floor(seed_body, p, scratch)
    return row


def floor(body: bytes, p: Profile, scratch: Path) -> dict[str, dict[str, float]]:
    body_file = scratch / "floor.json"
    body_file.write_bytes(body)
    port = free_port()
    args = [sys.executable, str(ROOT / "floor.py"), str(port), str(body_file)]
    url = f"http://127.0.0.1:{port}/calendars/blocked-slots?locationId=x"
    with process(args, url):
        return {"seed": measure(url, "x", p), "seed c16": measure(url, "x", p, concurrency=16)}


# --- the CalDAV peers --------------------------------------------------------------------


@dataclass
class PeerRow:
    name: str
    seconds: float
    instances: int
    same: bool


def run_peers(size: int, scratch: Path, now_ms: int) -> list[PeerRow]:
    tenant, blocks = data.one_calendar(size, now_ms)
    window = data.week_window(now_ms)
    url = f"sqlite:///{scratch / 'peers.db'}"
    seconds, expected = _slotblock_peer(url, tenant, blocks, window, now_ms)
    rows = [PeerRow("slotblock", seconds, len(expected), True)]
    for name, server, repeats in (("Xandikos", peers.xandikos, 3), ("Radicale", peers.radicale, 1)):
        with server(scratch / name, blocks, free_port()) as (url_, auth):
            timings, found = zip(
                *(peers.query(url_, auth, *window) for _ in range(repeats)), strict=True
            )
        rows.append(PeerRow(name, statistics.median(timings), len(found[0]), found[0] == expected))
    return rows


def _slotblock_peer(
    url: str, tenant: data.Tenant, blocks: list[Any], window: tuple[int, int], now_ms: int
) -> tuple[float, set[tuple[str, int]]]:
    """Seconds per query (p50 of sequential requests) and the instance set slotblock returns."""

    async def setup() -> str:
        store = open_store(url, pool_size=1)
        try:
            await upgrade(store)
            await _load_tenant_with(store, tenant, blocks, now_ms)
            services = build_services(store, Settings(database_url=url))
            token, _ = await services.tenants.create_token(tenant.location.id, SCOPES, "bench")
            return token
        finally:
            await store.dispose()

    token = asyncio.run(setup())
    port = free_port()
    with slotblock_server(url, port):
        target = (f"http://127.0.0.1:{port}/calendars/blocked-slots?locationId={tenant.location.id}"
                  f"&calendarId={tenant.calendars[0].id}&startTime={window[0]}&endTime={window[1]}")  # fmt: skip
        events = httpx.get(
            target, headers={"Authorization": f"Bearer {token}", "Version": "v3"}
        ).json()["events"]
        result = measure(target, token, Profile([], [], 0, sequential=50))
    found = {(e.get("masterEventId") or e["id"], parse_iso(e["startTime"])) for e in events}
    return result["p50_ms"] / 1000, found


async def _load_tenant_with(store: Store, t: data.Tenant, blocks: list[Any], now_ms: int) -> None:
    async with store.begin() as conn:
        await directory.insert_location(conn, t.location, now_ms)
        await conn.execute(calendars.insert(), [
            {"location_id": t.location.id, "id": t.calendars[0].id, "name": "peer", "description": "",
             "group_id": None, "is_active": True, "calendar_type": "event", "slug": "peer", "extra": {},
             "created_ms": now_ms, "updated_ms": now_ms}
        ])  # fmt: skip
        await block_store.insert_blocks(conn, blocks)


# --- report ------------------------------------------------------------------------------


def report(rows: list[Row], peer_rows: list[PeerRow], p: Profile) -> str:
    lines = [
        "# slotblock benchmark results",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
        f"Python {platform.python_version()}; slotblock {version('slotblock')}, fastapi {version('fastapi')}, "
        f"uvicorn {version('uvicorn')}, SQLAlchemy {version('sqlalchemy')}.",
        f"Load generator: {'wrk' if _has_wrk() else 'bench/load.py (asyncio, own process)'}; "
        f"{p.sequential} sequential requests per figure; concurrency 16 for {p.seconds:g} s.",
        "",
        "| backend | N | load s | events | seed p50 ms | seed p99 ms | floor p50 ms | raw lookup ms | user p50 | group p50 | 31d p50 | c16 req/s | c16 p99 ms | floor c16 req/s | writes/s | RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s, f = r.results, r.floor
        lines.append(
            f"| {r.backend} | {r.n:,} | {r.load_s:.1f} | {r.events} | {s['seed']['p50_ms']:.2f} | {s['seed']['p99_ms']:.2f} "
            f"| {f['seed']['p50_ms']:.2f} | {r.raw_ms:.2f} | {s['user']['p50_ms']:.2f} | {s['group']['p50_ms']:.2f} "
            f"| {s['31 days']['p50_ms']:.2f} | {s['seed c16']['rps']:.0f} | {s['seed c16']['p99_ms']:.2f} "
            f"| {f['seed c16']['rps']:.0f} | {r.writes_per_s:.0f} | {r.rss_mb:.0f} |"
        )
    if peer_rows:
        lines += ["", f"CalDAV peers, {p.peer_size:,} events in one calendar (5% recurring), one 7-day expand query:", "",
                  "| server | seconds per query | instances | same instance set as slotblock |", "|---|---|---|---|"]  # fmt: skip
        lines += [
            f"| {r.name} | {r.seconds:.4f} | {r.instances} | {'yes' if r.same else 'NO'} |"
            for r in peer_rows
        ]
    lines += ["", "Targets:", ""]
    lines += [f"- {t}" for t in targets(rows, peer_rows)]
    if any(not r.same for r in peer_rows):
        lines += ["", RADICALE_NOTE]
    changes = ROOT / "CHANGES.md"
    if changes.exists():
        lines += ["", changes.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def _has_wrk() -> bool:
    import shutil

    return shutil.which("wrk") is not None


def targets(rows: list[Row], peer_rows: list[PeerRow]) -> list[str]:
    out = []
    by = {(r.backend, r.n): r for r in rows}
    big, small = max(r.n for r in rows), min(r.n for r in rows)
    for backend in sorted({r.backend for r in rows}):
        b, s = by[(backend, big)], by[(backend, small)]
        ratio = b.results["seed"]["p50_ms"] / b.floor["seed"]["p50_ms"]
        out.append(
            _verdict(
                f"1. {backend}: seed p50 at N={big:,} is {ratio:.2f}x the floor (target <= 1.3x)",
                ratio <= 1.3,
            )
        )
        growth = b.results["seed"]["p50_ms"] / s.results["seed"]["p50_ms"]
        out.append(
            _verdict(
                f"2. {backend}: seed p50 at N={big:,} is {growth:.2f}x p50 at N={small:,} (target <= 1.15x)",
                growth <= 1.15,
            )
        )
        tail = b.results["seed c16"]["p99_ms"] / b.results["seed c16"]["p50_ms"]
        out.append(
            _verdict(
                f"4. {backend}: at concurrency 16, p99 is {tail:.2f}x p50 (target <= 3x)", tail <= 3
            )
        )
        memory = b.rss_mb / s.rss_mb
        out.append(
            _verdict(
                f"5. {backend}: server RSS {s.rss_mb:.0f} MB at N={small:,}, {b.rss_mb:.0f} MB at N={big:,} ({memory:.2f}x; target flat, <= 1.2x)",
                memory <= 1.2,
            )
        )
    if peer_rows:
        ours = peer_rows[0].seconds
        for peer, goal in (("Xandikos", 100), ("Radicale", 1000)):
            row = next(r for r in peer_rows if r.name == peer)
            ratio = row.seconds / ours
            same = "the same instance set" if row.same else "a DIFFERENT instance set (see below)"
            out.append(
                _verdict(
                    f"3. throughput {ratio:,.0f}x {peer} on the same data (target >= {goal}x); {peer} returned {same}",
                    ratio >= goal,
                )
            )
    return out


def _verdict(text: str, ok: bool) -> str:
    return f"{'PASS' if ok else 'MISS'} — {text}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="seconds-long run: N=2k, SQLite, no peers"
    )
    parser.add_argument("--sizes", help="comma-separated N values")
    parser.add_argument("--backends", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--peers", type=int, help="events for the CalDAV comparison (0: skip)")
    parser.add_argument("--output", type=Path, default=ROOT / "RESULTS.md")
    args = parser.parse_args()
    p = SMOKE if args.smoke else FULL
    if args.sizes:
        p.sizes = [int(x) for x in args.sizes.split(",")]
    if args.backends:
        p.backends = args.backends.split(",")
    if args.peers is not None:
        p.peer_size = args.peers
    now_ms = data.fixed_now()
    rows = []
    with tempfile.TemporaryDirectory(prefix="slotblock-bench-") as tmp:
        scratch = Path(tmp)
        for backend in p.backends:
            for n in p.sizes:
                print(f"{backend} N={n:,} ...", file=sys.stderr, flush=True)
                rows.append(run_size(backend, n, p, scratch, now_ms))
        peer_rows = run_peers(p.peer_size, scratch, now_ms) if p.peer_size else []
    text = report(rows, peer_rows, p)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

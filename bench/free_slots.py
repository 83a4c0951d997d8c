"""The worst shapes of free slots (get-slots) and free/busy, against a real server: what each
request costs and how long /healthz waits meanwhile.

    .venv/bin/python -m bench.free_slots                    # SQLite
    .venv/bin/python -m bench.free_slots --backend postgresql

The shapes of the hardening issue's table (31-day window, 1-minute slots, weekdays
09:00-17:00): round robin with 200 and 1,000 members all busy, collective with 1,000 members
all free, `openHours` with 3,000 and 15,000 identical ranges, four of the 15,000-range
requests at once; and the largest shapes the default bounds let through (100 members, one
hourly series over 366 days of free/busy). Each shape is repeated for `--seconds` (3) while
/healthz is polled every 10 ms; per shape: the statuses, the median wall time of a request
(of the four, when four run at once), the server's CPU time per request (its process's utime
+ stime), of the first round (cold caches) and of all, and the 99th percentile and worst
/healthz latency. The last row is /healthz alone, the noise of the machine itself. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.run import database, process
from slotblock.store import open_store
from slotblock.store.migrate import upgrade
from tests.hardening.worst import SlotShapes, store_slot_shapes
from tests.live import free_port

DAY = 86_400_000


@dataclass
class Figure:
    shape: str
    statuses: set[int]
    first: float  # wall time of the first round (the calls at once), cold caches
    first_cpu: float  # server CPU per request of the first round
    seconds: float  # median wall time of a round
    cpu: float  # server CPU per request, over every round
    healthz: list[float]  # every /healthz latency seen meanwhile

    def quantile(self, q: float) -> float:
        ordered = sorted(self.healthz)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def probe(base: str, seconds: float) -> None:
    """(In a process of its own, so that the requests' client threads do not delay it.)
    GET /healthz every 10 ms for `seconds`; print the latencies as JSON."""
    latencies = []
    with httpx.Client(base_url=base, timeout=120) as client:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            began = time.perf_counter()
            client.get("/healthz")
            latencies.append(time.perf_counter() - began)
            time.sleep(0.01)
    print(json.dumps(latencies))


def measured(
    shape: str, calls: list[Callable[[], int]], base: str, pid: int, seconds: float
) -> Figure:
    """`calls` run at once, round after round for `seconds` (one round at least), while
    /healthz is polled every 10 ms from another process."""
    command = [sys.executable, "-m", "bench.free_slots", "--probe", base, str(seconds)]
    prober = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)  # the probe's interpreter starts
    statuses: set[int] = set()

    def run(call: Callable[[], int]) -> None:
        statuses.add(call())

    cpu, began = cpu_seconds(pid), time.perf_counter()
    rounds: list[float] = []
    first_cpu = 0.0
    while not rounds or time.perf_counter() - began < seconds - 0.3:
        if len(rounds) == 1:
            first_cpu = (cpu_seconds(pid) - cpu) / max(1, len(calls))
        started = time.perf_counter()
        if not calls:
            time.sleep(seconds - 0.3)
        workers = [threading.Thread(target=run, args=(call,)) for call in calls]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        rounds.append(time.perf_counter() - started)
    used = (cpu_seconds(pid) - cpu) / (len(rounds) * max(1, len(calls)))
    if len(rounds) == 1:
        first_cpu = used
    out, _ = prober.communicate(timeout=600)
    median = statistics.median(rounds)
    return Figure(shape, statuses, rounds[0], first_cpu, median, used, json.loads(out))


def shapes(w: SlotShapes, client: httpx.Client) -> list[tuple[str, list[Callable[[], int]]]]:
    headers = {"Authorization": f"Bearer {w.token}", "Version": "2021-07-28"}
    window = {"startDate": str(w.start), "endDate": str(w.start + 31 * DAY)}

    def slots(name: str) -> Callable[[], int]:
        path = f"/calendars/{w.calendars[name]}/free-slots"
        return lambda: client.get(path, params=window, headers=headers).status_code

    windows = itertools.count()

    def free_busy() -> int:
        """366 days, each call a year not asked before (no cached week)."""
        start = w.start + next(windows) * 400 * DAY
        params = {"locationId": w.location, "userId": w.busy_user, "startTime": str(start),
                  "endTime": str(start + 366 * DAY)}  # fmt: skip
        return client.get("/calendars/free-busy", params=params, headers=headers).status_code

    def blocked() -> int:
        """The same year of the hourly series, as events (8,784 of them)."""
        start = w.start + next(windows) * 400 * DAY
        params = {"locationId": w.location, "userId": w.busy_user, "startTime": str(start),
                  "endTime": str(start + 366 * DAY)}  # fmt: skip
        path = "/calendars/blocked-slots"
        return client.get(path, params=params, headers=headers).status_code

    return [
        ("round robin, 200 members all busy", [slots("rr200")]),
        ("round robin, 1,000 members all busy", [slots("rr1000")]),
        ("collective, 1,000 members all free", [slots("col1000")]),
        ("`openHours` with 3,000 identical ranges", [slots("ranges3000")]),
        ("`openHours` with 15,000 identical ranges", [slots("ranges15000")]),
        ("4 of the 15,000-range GETs at once", [slots("ranges15000")] * 4),
        ("round robin, 100 members (the default bound) all busy", [slots("rr100")]),
        ("collective, 100 members all free", [slots("col100")]),
        ("free/busy, one hourly series, 366 days", [free_busy]),
        ("4 of those free/busy at once", [free_busy] * 4),
        ("blocked slots, the same series, 366 days (8,784 events)", [blocked]),
        ("4 of those at once", [blocked] * 4),
    ]


async def build(url: str) -> SlotShapes:
    store = open_store(url, pool_size=2)
    try:
        await upgrade(store)
    finally:
        await store.dispose()
    return await store_slot_shapes(url, count=1_000)


def report(backend: str, figures: list[Figure]) -> str:
    lines = [
        f"Free slots and free/busy, worst shapes ({backend}; 31-day window, 1-minute slots):",
        "",
        "| shape | status | first request (CPU) | repeated, median (CPU) "
        "| `/healthz` p99 | `/healthz` worst |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures[1:]:
        status = ", ".join(str(s) for s in sorted(f.statuses))
        lines.append(
            f"| {f.shape} | {status} | {f.first:.2f} s ({f.first_cpu:.2f} s) "
            f"| {f.seconds:.2f} s ({f.cpu:.2f} s) "
            f"| {f.quantile(0.99) * 1000:.0f} ms | {f.quantile(1.0) * 1000:.0f} ms |"
        )
    idle = figures[0]
    lines.append(
        f"| /healthz alone (the machine's own noise) | | | | {idle.quantile(0.99) * 1000:.0f} ms "
        f"| {idle.quantile(1.0) * 1000:.0f} ms |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=3.0, help="per shape (repeated)")
    parser.add_argument("--probe", nargs=2, metavar=("BASE", "SECONDS"), help=argparse.SUPPRESS)
    o = parser.parse_args()
    if o.probe:
        probe(o.probe[0], float(o.probe[1]))
        return
    with tempfile.TemporaryDirectory() as scratch, database(o.backend, 0, Path(scratch)) as url:
        world = asyncio.run(build(url))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "slotblock", "serve", "--port", str(port)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}
        env |= {"SLOTBLOCK_RATE_LIMIT_BURST": "0", "SLOTBLOCK_RATE_LIMIT_DAILY": "0",
                "SLOTBLOCK_ACCESS_LOG": "false"}  # fmt: skip
        with (
            process([*args, "--database-url", url], f"{base}/healthz", env) as proc,
            httpx.Client(base_url=base, timeout=300) as client,
        ):
            idle = measured("nothing else (the machine's own noise)", [], base, proc.pid, o.seconds)
            figures = [idle] + [
                measured(shape, calls, base, proc.pid, o.seconds)
                for shape, calls in shapes(world, client)
            ]
    print(report(o.backend, figures))


if __name__ == "__main__":
    main()

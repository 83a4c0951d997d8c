"""Python function calls per seed request inside the application (cProfile's counts, which
do not depend on the machine's load), with the production machinery on and with each part
of it off: what each part costs, counted rather than timed.

    .venv/bin/python -m bench.calls_per_request          # SQLite, N = 2k, 1,000 requests each
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import os
import pstats
import tempfile
from pathlib import Path
from typing import Any

from bench import data, in_process
from bench.floor import app_for
from bench.run import load

VARIANTS: dict[str, dict[str, Any]] = {
    "production machinery on": in_process.PRODUCTION,
    "access log off": {**in_process.PRODUCTION, "access_log": False},
    "metrics off": {**in_process.PRODUCTION, "metrics": "off"},
    "rate limits off": {**in_process.PRODUCTION, "rate_limit_burst": 0, "rate_limit_daily": 0},
    "all of it off": in_process.BARE,
}
COUNTED = 1_000


async def calls_per_request(url: str, token: str, extra: dict[str, Any], repeat: bool) -> float:
    """Python calls per request over COUNTED requests, after 600 uncounted ones."""
    original = in_process.p50_us
    profiler = cProfile.Profile()

    async def counted(app: Any, queries: list[bytes], headers: list[tuple[bytes, bytes]]) -> float:
        await original(app, queries[:600], headers)
        profiler.enable()
        try:
            return await original(app, queries[600 : 600 + COUNTED], headers)
        finally:
            profiler.disable()

    in_process.p50_us = counted
    try:
        await in_process.measure(url, token, extra, repeat)
    finally:
        in_process.p50_us = original
    rows = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return float(sum(row[1] for row in rows.values())) / COUNTED


async def floor_calls() -> float:
    """The same count for the floor app (FastAPI answering fixed bytes)."""
    profiler = cProfile.Profile()
    app = app_for(b'{"events":[]}')
    await in_process.p50_us(app, [b"locationId=x"] * 600, [])
    profiler.enable()
    try:
        await in_process.p50_us(app, [b"locationId=x"] * COUNTED, [])
    finally:
        profiler.disable()
    rows = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return float(sum(row[1] for row in rows.values())) / COUNTED


def main() -> None:
    logging.basicConfig(stream=open(os.devnull, "w"))  # noqa: SIM115 - lives with the process
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'calls.db'}"
        _, token = asyncio.run(load(url, 2_000, data.fixed_now()))
        print(f"floor app: {asyncio.run(floor_calls()):.0f} Python calls per request")
        for name, extra in VARIANTS.items():
            for repeat in (True, False):
                calls = asyncio.run(calls_per_request(url, token, extra, repeat))
                kind = "repeated" if repeat else "distinct"
                print(f"seed query, {kind}, {name}: {calls:.0f} Python calls per request")


if __name__ == "__main__":
    main()

"""A small HTTP/1.1 load generator (keep-alive, asyncio streams), run as its own process so
that it does not share the server's interpreter. `wrk` is used instead where installed.

    python bench/load.py URL --header 'Name: value' [--sequential N] [--concurrency C --seconds S]
                         [--vary MS] [--body JSON]

--vary MS: the k-th request's startTime and endTime are shifted by k × MS (no two requests
alike). --body JSON: POST that body.

Prints one JSON object: count, errors, p50/p99/min in ms, req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from urllib.parse import urlsplit

Requests = Callable[[], bytes]


def requests(url: str, headers: list[str], vary: int, body: str | None) -> Requests:
    """The bytes of the next request, each call."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = "".join(f"{h}\r\n" for h in headers)
    method = "GET"
    if body is not None:
        method = "POST"
        head += f"Content-Type: application/json\r\nContent-Length: {len(body.encode())}\r\n"
    counter = itertools.count()
    step = 0

    def shifted(match: re.Match[str]) -> str:
        return f"{match.group(1)}={int(match.group(2)) + step * vary}"

    def make() -> bytes:
        nonlocal step
        step = next(counter)
        path = re.sub(r"(startTime|endTime)=(\d+)", shifted, target) if vary else target
        return (
            f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}\r\n{body or ''}".encode()
        )

    return make


async def _connection(
    host: str, port: int, request: Requests, stop: float, count: int | None
) -> tuple[list[float], int]:
    reader, writer = await asyncio.open_connection(host, port)
    latencies: list[float] = []
    errors = 0
    while (count is None and time.perf_counter() < stop) or (
        count is not None and len(latencies) < count
    ):
        began = time.perf_counter()
        writer.write(request())
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - began) * 1000)
        errors += not status_line.startswith(b"HTTP/1.1 2")
    writer.close()
    return latencies, errors


async def run(
    url: str, concurrency: int, seconds: float, sequential: int | None, request: Requests
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    began = time.perf_counter()
    stop = began + seconds
    if sequential is not None:
        results = [await _connection(host, port, request, stop, sequential)]
    else:
        results = await asyncio.gather(
            *(_connection(host, port, request, stop, None) for _ in range(concurrency))
        )
    elapsed = time.perf_counter() - began
    latencies = sorted(x for lat, _ in results for x in lat)
    return {
        "count": len(latencies),
        "errors": sum(e for _, e in results),
        "min_ms": latencies[0],
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rps": len(latencies) / elapsed,
    }


def wrk(url: str, headers: list[str], concurrency: int, seconds: float) -> dict[str, float] | None:
    """Throughput and latency from wrk, where it is installed."""
    if shutil.which("wrk") is None:
        return None
    # wrk takes whole seconds only ("0.5s" is refused).
    duration = f"{max(1, round(seconds))}s"
    args = ["wrk", "-t", "1", "-c", str(concurrency), "-d", duration, "--latency", url]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * units[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {
        "count": 0,
        "errors": 0,
        "min_ms": 0.0,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
        "rps": rps,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sequential", type=int)
    parser.add_argument("--vary", type=int, default=0)
    parser.add_argument("--body")
    args = parser.parse_args()
    result = None
    if args.sequential is None and not args.vary and args.body is None:
        result = wrk(args.url, args.header, args.concurrency, args.seconds)
    if result is None:
        request = requests(args.url, args.header, args.vary, args.body)
        result = asyncio.run(
            run(args.url, args.concurrency, args.seconds, args.sequential, request)
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""What the image and fleet checks share: podman, HTTP on loopback, the demo's seed request.

Standard library only, so that `make image-test` runs with any Python ≥ 3.11.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IMAGE_SCRIPT = ROOT / "deploy" / "image.sh"
VERSION_HEADER = "2021-07-28"
# The demo data's ids and the window of the documentation page's example (service/demo.py).
LOCATION_ID = "0007BWpSzSwfiuSl0tR2"
CALENDAR_ID = "BqTwX8QFwXzpegMve9EQ"
SEED_WINDOW = (1680373800000, 1680978599999)
TOKEN_LINE = re.compile(r"demo token: (\S+)")


class CheckFailed(Exception):
    """One expectation of a check did not hold."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def version() -> str:
    text = (ROOT / "src" / "slotblock" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    expect(found is not None, "no __version__ in src/slotblock/__init__.py")
    assert found is not None
    return found.group(1)


def podman_env() -> dict[str, str]:
    """The environment with CONTAINERS_CONF set the way deploy/image.sh writes it."""
    line = subprocess.run(
        [str(IMAGE_SCRIPT), "env"], check=True, capture_output=True, text=True
    ).stdout.strip()
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = line.split("=", 1)[1]
    return env


ENV: dict[str, str] = {}


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    if not ENV:
        ENV.update(podman_env())
    result = subprocess.run(
        ["podman", *args], env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise CheckFailed(f"podman {' '.join(args)}: exit {result.returncode}: {result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def request(
    method: str,
    url: str,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    timeout: float = 10,
    headers: Sequence[tuple[str, str]] = (),
) -> tuple[int, Any]:
    """(status, decoded JSON body or None); a refused connection raises OSError."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Version", VERSION_HEADER)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in headers:
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_until_up(base: str, path: str = "/healthz", seconds: float = 90) -> float:
    """Seconds until `base + path` answered 200."""
    start = time.monotonic()
    last: object = None
    while time.monotonic() - start < seconds:
        try:
            status, _ = request("GET", base + path, timeout=2)
            if status == 200:
                return time.monotonic() - start
            last = status
        except OSError as exc:
            last = exc
        time.sleep(0.25)
    raise CheckFailed(f"{base}{path} did not answer 200 within {seconds:.0f} s (last: {last})")


def seed_request(base: str, token: str) -> tuple[int, Any]:
    start, end = SEED_WINDOW
    return request(
        "GET",
        f"{base}/calendars/blocked-slots?locationId={LOCATION_ID}&calendarId={CALENDAR_ID}"
        f"&startTime={start}&endTime={end}",
        token,
    )


def demo_token(logs: str) -> str:
    found = TOKEN_LINE.findall(logs)
    expect(bool(found), f"no 'demo token:' line in the logs:\n{logs[-2000:]}")
    return str(found[-1])


class Timer:
    """Named durations, printed at the end of a check."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.last = self.start
        self.steps: list[tuple[str, float]] = []

    def step(self, name: str) -> None:
        now = time.monotonic()
        self.steps.append((name, now - self.last))
        self.last = now
        print(f"  ok  {name} ({now - self.start:.1f} s)", flush=True)

    def total(self) -> float:
        return time.monotonic() - self.start

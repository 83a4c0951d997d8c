"""Over a real socket: `slotblock serve` on a free port, the demo data, and the seed
page's example request with its example values, for each of its three filters."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from slotblock.service import demo
from tests.live import free_port

pytestmark = pytest.mark.slow

SLOTBLOCK = [sys.executable, "-m", "slotblock"]


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[str, str]]:
    """(base URL, demo token) of a running server."""
    token = subprocess.run(
        [*SLOTBLOCK, "demo", "--database-url", database_url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [*SLOTBLOCK, "serve", "--port", str(port), "--database-url", database_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=10)


TARGETS = ({"calendarId": demo.CALENDAR_ID}, {"userId": demo.USER_ID}, {"groupId": demo.GROUP_ID})


def query(base: str, token: str, target: dict[str, str], start: int, end: int) -> httpx.Response:
    return httpx.get(
        f"{base}/calendars/blocked-slots",
        params={
            "locationId": demo.LOCATION_ID,
            **target,
            "startTime": str(start),
            "endTime": str(end),
        },
        headers={"Authorization": f"Bearer {token}", "Version": "2021-07-28"},
    )


def test_demo_over_the_wire(served: tuple[str, str]) -> None:
    """One server per backend (they are slow to start); every check of the wire here."""
    base, token = served
    for target in TARGETS:  # the seed's request, with its example values
        response = query(base, token, target, *demo.SEED_WINDOW)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        events = response.json()["events"]
        assert all(e["startTime"].endswith("+05:30") for e in events)
        assert any(e["isRecurring"] for e in events), target
        assert any(not e["isRecurring"] for e in events), target
    now = int(time.time() * 1000)
    for target in TARGETS:  # and the current week
        response = query(base, token, target, now, now + 7 * 86_400_000)
        assert response.status_code == 200
        assert response.json()["events"], target
    assert httpx.get(f"{base}/readyz").json() == {"status": "ok"}
    refused = httpx.get(f"{base}/calendars/blocked-slots")
    assert refused.status_code == 401
    assert refused.json()["message"] == "version header was not found."

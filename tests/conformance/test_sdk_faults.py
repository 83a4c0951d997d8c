"""The official SDKs against injected faults, on SQLite and PostgreSQL, over a real socket:
the Python SDK sees two 429s with the platform's rate-limit headers, then succeeds; the
JavaScript SDK reports a 503, parses a 429's headers, and its own retry gets through one."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from slotblock.config import Settings
from tests.conformance.test_sdk_js import HERE, missing
from tests.conftest import IN_CI
from tests.live import live_server
from tests.toolkit.conftest import (
    ADMIN,
    ADMIN_TOKEN,
    CI_TOKEN,
    LOCATION,
    USER,
    WEEK,
    readme_fixture,
)

highlevel = pytest.importorskip("highlevel", reason="gohighlevel-api-client is a test dependency")
GHLError = pytest.importorskip("highlevel.error").GHLError

RATE_HEADERS = {
    "x-ratelimit-limit-daily": "200000",
    "x-ratelimit-daily-remaining": "199900",
    "x-ratelimit-interval-milliseconds": "10000",
    "x-ratelimit-max": "100",
    "x-ratelimit-remaining": "0",
    "retry-after": "2",
}


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with live_server(Settings(database_url=database_url, admin_token=ADMIN_TOKEN)) as base:
        loaded = httpx.post(
            f"{base}/_admin/fixtures",
            content=readme_fixture(),
            headers={**ADMIN, "Content-Type": "application/yaml"},
        )
        assert loaded.status_code == 201, loaded.text
        yield base


def add_fault(base: str, **rule: Any) -> None:
    assert httpx.post(f"{base}/_admin/faults", json=rule, headers=ADMIN).status_code == 201


def hits(base: str) -> list[int]:
    return [r["hits"] for r in httpx.get(f"{base}/_admin/faults", headers=ADMIN).json()["faults"]]


def test_python_sdk_sees_two_429s_then_succeeds(server: str) -> None:
    add_fault(server, match={"operationId": "get-blocked-slots"}, status=429, retryAfter=2, times=2)
    local = type("LocalHighLevel", (highlevel.HighLevel,), {"BASE_URL": server})
    ghl = local(private_integration_token=CI_TOKEN)
    seen: list[httpx.Response] = []

    async def record(response: httpx.Response) -> None:
        seen.append(response)

    ghl.http_client.event_hooks["response"].insert(0, record)  # before the SDK raises
    window = {"start_time": str(WEEK[0]), "end_time": str(WEEK[1])}

    async def calls() -> list[Any]:
        outcomes: list[Any] = []
        try:
            for _ in range(3):
                try:
                    outcomes.append(
                        await ghl.calendars.get_blocked_slots(LOCATION, user_id=USER, **window)
                    )
                except GHLError as exc:
                    outcomes.append(exc)
        finally:
            await ghl.close()
        return outcomes

    first, second, third = asyncio.run(calls())
    for refused in (first, second):
        assert isinstance(refused, GHLError) and refused.status_code == 429
        assert refused.response == {
            "statusCode": 429,
            "message": "Too Many Requests",
            "error": "Too Many Requests",
        }
    assert len(third["events"]) == 4
    assert [r.status_code for r in seen] == [429, 429, 200]
    for response in seen[:2]:
        assert {k: response.headers[k] for k in RATE_HEADERS} == RATE_HEADERS
    assert hits(server) == [2]


def test_js_sdk_reports_a_503(server: str) -> None:
    if reason := missing():
        if IN_CI:
            pytest.fail(f"CI runs the JavaScript SDK: {reason}")
        pytest.skip(reason)
    add_fault(server, match={"operationId": "get-groups"}, status=503, times=1)
    add_fault(server, match={"operationId": "get-groups"}, status=429, retryAfter=2, times=2)
    env = {
        **os.environ,
        "SLOTBLOCK_URL": server,
        "SLOTBLOCK_TOKEN": CI_TOKEN,
        "LOCATION_ID": LOCATION,
    }
    result = subprocess.run(
        ["node", "fault.mjs"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"ok": True}
    assert hits(server) == [1, 2]
    logged = httpx.get(f"{server}/_admin/requests", headers=ADMIN).json()["requests"]
    assert [r["status"] for r in logged] == [200, 429, 429, 503]

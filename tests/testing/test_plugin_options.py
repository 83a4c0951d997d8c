"""The pytest plugin's options, run as an integrator runs them (pytest in a project folder of
its own, the plugin loaded by its entry point from this environment): no rate limits unless
a test asks, the clock twin, and one line for a database the plugin cannot use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.slow

TESTS = """
import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

DOC = {"locations": [{"id": "loc1", "timezone": "UTC",
                      "tokens": [{"id": "t1", "token": "pit-plugin-token-0001"}]}]}


def groups(slotblock):
    request = urllib.request.Request(
        f"{slotblock.url}/calendars/groups?locationId=loc1",
        headers={"Authorization": "Bearer pit-plugin-token-0001", "Version": "2021-07-28"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.mark.slotblock_fixture(DOC)
def test_more_than_a_burst(slotblock):
    assert [groups(slotblock) for _ in range(105)] == [200] * 105


@pytest.mark.slotblock_fixture(DOC)
@pytest.mark.slotblock_rate_limits(burst=3)
def test_limits_when_asked(slotblock):
    assert [groups(slotblock) for _ in range(4)] == [200, 200, 200, 429]


@pytest.mark.slotblock_fixture(DOC)
def test_the_clock(slotblock):
    assert slotblock.clock.get()["controlled"] is False
    shown = slotblock.clock.set("2026-01-05T09:00:00+01:00", freeze=True)
    assert shown["now"] == 1767600000000 and shown["frozen"] is True
    assert slotblock.clock.advance("1h")["now"] == 1767603600000
    assert slotblock.clock.advance(timedelta(minutes=1))["now"] == 1767603660000
    paris = timezone(timedelta(hours=1))
    assert slotblock.clock.set(datetime(2026, 1, 5, 9, tzinfo=paris))["now"] == 1767600000000
    assert slotblock.clock.unfreeze()["frozen"] is False
    assert slotblock.clock.freeze()["frozen"] is True
    assert slotblock.clock.real()["controlled"] is False


def test_leaves_the_clock_set(slotblock):
    slotblock.clock.set(0, freeze=True)


def test_each_test_starts_on_real_time(slotblock):
    assert slotblock.clock.get()["controlled"] is False
"""


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "SLOTBLOCK"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_no_rate_limits_unless_a_test_asks_and_the_clock(tmp_path: Path) -> None:
    (tmp_path / "test_integration.py").write_text(TESTS)
    result = run_pytest(tmp_path, "-q")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "5 passed" in result.stdout, result.stdout


def test_the_session_enforces_the_platforms_limits_on_request(tmp_path: Path) -> None:
    (tmp_path / "test_integration.py").write_text(TESTS)
    result = run_pytest(tmp_path, "-q", "--slotblock-rate-limits", "-k", "more_than_a_burst")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "429" in result.stdout


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://postgres@127.0.0.1:1/nowhere", "Connect call failed"),
        (f"{PG_URL.rsplit('/', 1)[0]}/slotblock_no_such_database", "does not exist"),
    ],
)
def test_a_database_it_cannot_use_is_one_line(tmp_path: Path, url: str, reason: str) -> None:
    (tmp_path / "test_integration.py").write_text(TESTS)
    result = run_pytest(tmp_path, "-q", "--slotblock-database-url", url)
    out = result.stdout + result.stderr
    assert result.returncode == 4, out
    assert out.count("slotblock: cannot use the database") == 1, out
    assert reason in out and "Traceback" not in out and "ERROR" not in out, out
    assert len(out.strip().splitlines()) <= 3, out

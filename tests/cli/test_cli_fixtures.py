"""The admin twins of the CLI, on SQLite and PostgreSQL: reset, load, export, admin-token,
and `serve --fixture` (a real process)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import pytest

from slotblock.store import open_store
from slotblock.toolkit.service.admin_auth import AdminGate
from tests.cli.test_cli import SLOTBLOCK, ok, run
from tests.conftest import snapshot_url
from tests.live import free_port, wait_ready
from tests.toolkit.conftest import API, LOCATION, readme_fixture


@pytest.fixture
def fixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "fixture.yaml"
    path.write_text(readme_fixture())
    return path


def test_load_export_reset_round_trip(
    database_url: str, fixture_file: Path, tmp_path: Path
) -> None:
    assert ok(database_url, "load", str(fixture_file)) == ""
    exported = ok(database_url, "export")
    document = json.loads(exported)
    assert [loc["id"] for loc in document["locations"]] == [LOCATION]
    assert json.loads(ok(database_url, "export", "--location", LOCATION)) == document
    (tmp_path / "exported.json").write_text(exported)
    assert run(database_url, "reset").stderr.strip() == "reset everything"
    assert json.loads(ok(database_url, "export")) == {"locations": []}
    ok(database_url, "load", str(tmp_path / "exported.json"))
    assert json.loads(ok(database_url, "export")) == document
    ok(database_url, "reset", "--location", LOCATION)
    assert json.loads(ok(database_url, "export")) == {"locations": []}
    missing = run(database_url, "reset", "--location", LOCATION)
    assert missing.returncode == 1 and f"location {LOCATION} not found" in missing.stderr


def test_bad_fixture_lists_problems_and_loads_nothing(database_url: str, tmp_path: Path) -> None:
    before = asyncio.run(snapshot_url(database_url))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"locations": [{"id": "l1", "timezone": "Nowhere/City",
        "tokens": [{"token": "pit-valid-value-01", "scopes": ["nope"]}]}]}))  # fmt: skip
    result = run(database_url, "load", str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "$.locations[0].timezone: unknown IANA timezone 'Nowhere/City'",
        "$.locations[0].tokens[0].scopes: unknown scope(s): nope",
        "error: 2 problem(s) in the fixture; nothing was loaded",
    ]
    assert asyncio.run(snapshot_url(database_url)) == before


def test_admin_token_opens_the_admin_api(database_url: str) -> None:
    token = ok(database_url, "admin-token")
    assert token.startswith("sba-") and len(token) == 44

    async def check() -> tuple[bool, bool, bool]:
        store = open_store(database_url, pool_size=1)
        try:
            gate = AdminGate(store, None, 0)
            return await gate.enabled(), await gate.admits(token), await gate.admits(token + "x")
        finally:
            await store.dispose()

    assert asyncio.run(check()) == (True, True, False)


def test_serve_from_a_fixture(database_url: str, fixture_file: Path) -> None:
    ok(database_url, "load", str(fixture_file))  # loaded twice: serve empties first
    port = free_port()
    args = [
        "serve",
        "--port",
        str(port),
        "--fixture",
        str(fixture_file),
        "--database-url",
        database_url,
    ]
    server = subprocess.Popen([*SLOTBLOCK, *args], stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server, seconds=30)
        response = httpx.get(
            f"{base}/calendars/groups", params={"locationId": LOCATION}, headers=API
        )
        assert [g["id"] for g in response.json()["groups"]] == ["frontDesk01"]
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=15)
    assert 'loaded {"locations": ["clinicLocation01"]' in stderr


def test_missing_fixture_file(database_url: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [*SLOTBLOCK, "load", str(tmp_path / "nope.yaml"), "--database-url", database_url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "does not exist" in result.stderr

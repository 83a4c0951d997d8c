"""The official JavaScript SDK (npm `@gohighlevel/api-client`, pinned in js/package.json)
runs js/scenario.mjs against a live slotblock. It runs wherever `node` and the installed
package are present (`make test` installs it with npm); elsewhere it skips with the reason,
and in CI it fails instead."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from slotblock.config import Settings
from tests.conftest import IN_CI, seed_tenants
from tests.live import live_server

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent / "js"
PACKAGE = HERE / "node_modules" / "@gohighlevel" / "api-client" / "package.json"


def missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not PACKAGE.exists():
        return f"the SDK is not installed (npm ci --prefix {HERE})"
    return None


def test_official_js_sdk(database_url: str) -> None:
    if reason := missing():
        if IN_CI:
            pytest.fail(f"CI runs the JavaScript SDK: {reason}")
        pytest.skip(reason)
    [tenant] = asyncio.run(seed_tenants(database_url, ("America/New_York",)))
    with live_server(Settings(database_url=database_url)) as base:
        env = {
            **os.environ,
            "SLOTBLOCK_URL": base,
            "SLOTBLOCK_TOKEN": tenant.token,
            "LOCATION_ID": tenant.location_id,
            "USER_ID": tenant.user_id,
        }
        result = subprocess.run(
            ["node", "scenario.mjs"],
            cwd=HERE,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["ok"] is True
    assert json.loads(PACKAGE.read_text())["version"] == "3.1.0"

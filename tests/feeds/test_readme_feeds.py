"""The README's "Calendar feeds" example, run as written with bash and curl against a real
`slotblock serve` (only the port differs)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import seed_tenants
from tests.live import free_port, wait_ready
from tests.toolkit.test_readme_examples import readme_block

pytestmark = [
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
    pytest.mark.slow,
]
BIN = Path(sys.executable).parent


def test_a_feed_created_fetched_and_revoked_as_the_readme_says(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "feeds.db")
    url = f"sqlite:///{tmp_path / 'feeds.db'}"
    [tenant] = asyncio.run(seed_tenants(url))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}
    env |= {"PATH": f"{BIN}:{env['PATH']}", "SLOTBLOCK_DATABASE_URL": url}
    server = subprocess.Popen(
        [str(BIN / "slotblock"), "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server, seconds=30)
        prelude = (
            f"B={base}\nLOC={tenant.location_id}\nANN={tenant.user_id}\n"
            f"H=(-H 'Authorization: Bearer {tenant.token}' -H 'Version: 2021-07-28' "
            "-H 'Content-Type: application/json')\n"
        )
        script = prelude + readme_block("a location and user of the token:")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.communicate(timeout=15)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("BEGIN:VCALENDAR\n") and "X-WR-CALNAME:Ann (busy)\n" in out
    assert out.endswith('304\n{"succeeded":true}404\n'), out[-200:]

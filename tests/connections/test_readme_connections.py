"""The README's "Connected calendars" section, run as written: its calendar served with
python's http.server, the CLI's add/sync/list, then `slotblock serve` and the curl examples
(only the ports differ, so that parallel runs do not collide)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import seed_tenants
from tests.live import free_port, wait_ready
from tests.toolkit.conftest import readme_file
from tests.toolkit.test_readme_examples import readme_block

pytestmark = [
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
    pytest.mark.slow,
]
BIN = Path(sys.executable).parent


def bash(script: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def documents(text: str) -> list[Any]:
    """The JSON answers curl printed one after the other (without newlines)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


def test_connected_calendars_as_the_readme_says(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "connect.db")
    url = f"sqlite:///{tmp_path / 'connect.db'}"
    [tenant] = asyncio.run(seed_tenants(url))
    files, port = free_port(), free_port()
    (tmp_path / "calendar.ics").write_text(readme_file("calendar.ics"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}
    env |= {"PATH": f"{BIN}:{env['PATH']}", "SLOTBLOCK_DATABASE_URL": url,
            "LOC": tenant.location_id, "ANN": tenant.user_id}  # fmt: skip
    cli = readme_block("with the CLI:").replace("8800", str(files))
    server = None
    try:
        # the CLI part, then the server, from the same shell (the file server keeps serving)
        serve = f"exec slotblock serve --port {port}\n"
        server = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", cli + "echo ---\n" + serve],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, start_new_session=True,
        )  # fmt: skip
        assert server.stdout is not None
        printed = [server.stdout.readline() for _ in range(3)]
        connection, location, user, source, served, state = printed[0].rstrip("\n").split("\t")
        assert (location, user) == (tenant.location_id, tenant.user_id)
        assert (source, state) == ("ical", "2 events") and served == f"http://127.0.0.1:{files}/…"
        assert printed[1].split("\t")[0] == connection and printed[2] == "---\n"
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server, seconds=30)
        prelude = (
            f"B={base}\n"
            f"H=(-H 'Authorization: Bearer {tenant.token}' -H 'Version: 2021-07-28' "
            "-H 'Content-Type: application/json')\n"
        )
        api = readme_block("reads `calendars.readonly`):").replace("8800", str(files))
        out = bash(prelude + api, tmp_path, env)
        synced, listed, answer, deleted = documents(out)
        assert synced["lastError"] is None and synced["events"] == 2 and synced["busyOnly"]
        assert len(listed["connections"]) == 2 and "calendar.ics" not in str(listed)
        events = answer["events"]
        assert len(events) == 14  # 6 standups and a holiday, from each connection
        assert {e["title"] for e in events} == {"Standup", "Holiday", "Busy"}
        assert all(e["createdBy"] == {"source": "ical"} for e in events)
        assert "Lunch" not in str(events) and deleted == {"succeeded": True}
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
            if server.stdout is not None:
                server.stdout.close()

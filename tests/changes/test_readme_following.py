"""The README's "Following changes" section, run as written: its receiver, keys and
subscription with bash, `slotblock serve`, and its curl examples against that server (only
the ports differ, so that parallel runs do not collide)."""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

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
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_following_changes_as_the_readme_says(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "follow.db")
    url = f"sqlite:///{tmp_path / 'follow.db'}"
    [tenant] = asyncio.run(seed_tenants(url))
    port, hook_port = free_port(), free_port()
    (tmp_path / "receiver.py").write_text(readme_file("receiver.py"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}
    env |= {"PATH": f"{BIN}:{env['PATH']}", "SLOTBLOCK_DATABASE_URL": url,
            "LOC": tenant.location_id, "CAL": tenant.calendar_id,
            "RECEIVER_PORT": str(hook_port)}  # fmt: skip
    block = readme_block("and run it, and slotblock with the private key, and subscribe:")
    # up to the subscription; then the server, in the foreground of this shell
    setup, _, _ = block.partition("kill $SERVER")
    assert setup.rstrip().endswith("--url http://127.0.0.1:9000/hook")
    setup = setup.replace("127.0.0.1:9000", f"127.0.0.1:{hook_port}")
    setup += f"exec slotblock serve --port {port}\n"
    node = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", setup],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, node, seconds=30)
        prelude = (
            f"B={base}\n"
            f"H=(-H 'Authorization: Bearer {tenant.token}' -H 'Version: 2021-07-28' "
            "-H 'Content-Type: application/json')\n"
        )
        script = prelude + "\n".join(
            readme_block(after)
            for after in (
                "/calendars/events/block-slots/{eventId}` answers 304 while the tag is current.",
                "across restarts and nodes, and concurrent retries make one block.",
                "page is shown again by the next sync.",
            )
        )
        out = bash(script, tmp_path, env)
        assert out.startswith("304\n")
        assert '"title":"moved"' in out and '"statusCode":412' in out
        assert '"deleted":true' in out and '"nextSyncToken"' in out
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(node, lines), daemon=True).start()
        printed = ""  # the subscription id, then what the receiver verified
        while "BlockedSlotDelete" not in printed:
            printed += lines.get(timeout=20)
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        node.communicate(timeout=15)
    assert "BlockedSlotCreate single" in printed
    assert "BlockedSlotUpdate single" in printed
    assert "BlockedSlotDelete single" in printed


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    for line in process.stdout or ():
        lines.put(line)

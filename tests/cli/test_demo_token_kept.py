"""`serve --demo` (what `make run` runs) keeps its demo token beside the SQLite database and
prints the same one at the next start, while it works; a revoked one is replaced."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.fleet.servers import SLOTBLOCK, kill_group, node_env, start_node
from tests.live import free_port, wait_ready

pytestmark = pytest.mark.slow

DEMO_LOCATION = "0007BWpSzSwfiuSl0tR2"


def demo_start(env: dict[str, str]) -> str:
    """Start `serve --demo`, wait until it is ready, stop it; the token it printed."""
    port = free_port()
    node = start_node(port, env, "--demo")
    try:
        wait_ready(f"http://127.0.0.1:{port}", node, seconds=60)
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            _, err = node.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            kill_group(node)
            raise
    found = re.findall(r"demo token: (\S+)", err.decode())
    assert len(found) == 1, err.decode()[-2000:]
    return str(found[0])


def test_the_demo_token_is_kept_until_it_stops_working(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    env = node_env(database_url=f"sqlite:///{database}", log_format="text")
    first = demo_start(env)
    kept = Path(f"{database}.demo-token")
    assert kept.read_text().strip() == first
    assert kept.stat().st_mode & 0o077 == 0, "readable by its owner only"
    assert demo_start(env) == first

    listed = subprocess.run(
        [*SLOTBLOCK, "token", "list", "--location", DEMO_LOCATION],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.splitlines()  # fmt: skip
    assert len(listed) == 1, "one token, not one per start"
    subprocess.run(
        [*SLOTBLOCK, "token", "revoke", listed[0].split("\t")[0]],
        env=env, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    second = demo_start(env)
    assert second != first
    assert kept.read_text().strip() == second

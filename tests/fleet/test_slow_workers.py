"""`serve --workers N` on a busy machine: a worker still importing the app when its supervisor
first asks after it is not taken for hung and replaced for ever
(`SLOTBLOCK_WORKER_HEALTHCHECK_SECONDS`; uvicorn's own limit is 5 s)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fleet.servers import kill_group, node_env, start_node
from tests.live import free_port, wait_ready

pytestmark = pytest.mark.slow

# Every worker process (a multiprocessing child) starts this many seconds late, as one does
# on a loaded machine; the supervisor itself is not slowed.
WORKER_DELAY_SECONDS = 6
SLOW_START = f"""import sys, time
if sys.argv[-1:] == ["--multiprocessing-fork"]:
    time.sleep({WORKER_DELAY_SECONDS})
"""


def test_slowly_starting_workers_come_up(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_START)
    env = node_env(
        database_url=f"sqlite:///{tmp_path / 'slow.db'}",
        worker_healthcheck_seconds=str(WORKER_DELAY_SECONDS * 10),
        log_format="text",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    port = free_port()
    node = start_node(port, env, "--workers", "2")
    try:
        wait_ready(f"http://127.0.0.1:{port}", node, seconds=WORKER_DELAY_SECONDS * 10)
    finally:
        node.terminate()
        try:
            _, err = node.communicate(timeout=30)
        except Exception:
            kill_group(node)
            raise
    # uvicorn's supervisor did not give up on a worker and start another one.
    assert b"died" not in err, err.decode()[-2000:]

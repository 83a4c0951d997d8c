"""`slotblock serve` as an operator starts it: port already taken, several workers; and the
one-line configuration errors and `--version`."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from slotblock import __version__
from tests.fleet.servers import SLOTBLOCK, node_env, start_node, stop
from tests.live import free_port, wait_ready


def test_port_in_use_is_one_line_before_any_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*SLOTBLOCK, "serve", "--demo", "--port", str(port)],
            env=node_env(database_url=f"sqlite:///{tmp_path / 'x.db'}"),
            capture_output=True,
            check=False,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert not (tmp_path / "x.db").exists(), "nothing was done before the check"


def test_bad_setting_is_one_line() -> None:
    result = subprocess.run(
        [*SLOTBLOCK, "migrate"],
        env=node_env(max_window_days="abc", database_url="sqlite:///unused.db"),
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: SLOTBLOCK_MAX_WINDOW_DAYS=abc: ")


def test_unknown_setting_is_warned(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SLOTBLOCK, "migrate"],
        env=node_env(database_url=f"sqlite:///{tmp_path / 'x.db'}", pool_sise="3"),
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "warning: SLOTBLOCK_POOL_SISE is not a slotblock setting (ignored)" in result.stderr


def test_version() -> None:
    result = subprocess.run([*SLOTBLOCK, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout == f"slotblock {__version__}\n"


@pytest.mark.slow
def test_workers_share_the_port_and_the_metrics(tmp_path: Path) -> None:
    port = free_port()
    env = node_env(database_url=f"sqlite:///{tmp_path / 'w.db'}", log_format="json")
    node = start_node(port, env, "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, node)
        with httpx.Client(base_url=base) as client:  # new connections: both workers serve
            for _ in range(20):
                assert httpx.get(f"{base}/healthz").status_code == 200
            text = client.get("/metrics").text
    finally:
        stop(node)
    served = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('slotblock_requests_total{method="GET",operation="healthz"')
    ]
    assert sum(served) == 20, text  # both workers counted, whichever served

"""`serve` takes its address from PORT and HOST when the options are not given (platforms that
run containers set PORT); an option given wins."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.fleet.servers import SLOTBLOCK, node_env, stop
from tests.live import free_port, wait_ready

pytestmark = pytest.mark.slow


def test_port_and_host_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = node_env(database_url=f"sqlite:///{tmp_path / 'p.db'}", log_format="text")
    env.update({"PORT": str(port), "HOST": "127.0.0.1"})
    node = subprocess.Popen(
        [*SLOTBLOCK, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", node, seconds=60)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        stop(node)


def test_an_option_beats_the_environment(tmp_path: Path) -> None:
    taken = free_port()
    env = node_env(database_url=f"sqlite:///{tmp_path / 'p.db'}")
    env["PORT"] = "not-a-port"  # ignored: --port is given, and the port is in use
    with socket.create_server(("127.0.0.1", taken)):
        result = subprocess.run(
            [*SLOTBLOCK, "serve", "--port", str(taken)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken}" in result.stderr

"""`serve --workers 2` with `SLOTBLOCK_LOG_FORMAT=json`: every line `serve --workers 2` writes on stderr is one JSON
object with the writing process's `pid` — uvicorn's own lines (its supervisor, each worker's
start and stop, its warning about a malformed request) as much as slotblock's — and the
lines written while answering a request carry its `request_id`. Its /metrics (summed over the
workers) has the build-info series and the answering worker's process metrics."""

from __future__ import annotations

import json
import platform
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from slotblock import __version__
from tests.fleet.servers import kill_group, node_env, start_node
from tests.live import free_port, wait_ready

pytestmark = pytest.mark.slow


def test_every_stderr_line_is_json_with_pid_and_request_id(tmp_path: Path) -> None:
    env = node_env(database_url=f"sqlite:///{tmp_path / 'j.db'}", log_format="json")
    port = free_port()
    node = start_node(port, env, "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, node, seconds=90)
        httpx.get(
            f"{base}/calendars/groups",
            headers={"X-Request-Id": "json-logs-1", "Version": "2021-07-28"},
        )
        scraped = httpx.get(f"{base}/metrics").text
        with socket.create_connection(("127.0.0.1", port)) as raw:  # uvicorn warns
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            raw.recv(1024)
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            _, err = node.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            kill_group(node)
            raise
    lines = [line for line in err.decode().splitlines() if line.strip()]
    records = []
    for line in lines:
        record = json.loads(line)  # fails on any plain-text line
        assert isinstance(record, dict)
        assert isinstance(record["pid"], int)
        records.append(record)
    uvicorn = [r for r in records if r["logger"].startswith("uvicorn")]
    assert any("Started parent process" in r["message"] for r in uvicorn)
    started = {r["pid"] for r in uvicorn if r["message"].startswith("Started server process")}
    assert len(started) == 2, "one line per worker, each with its own pid"
    assert node.pid not in started
    assert any(r["level"] == "warning" and "Invalid HTTP" in r["message"] for r in uvicorn)
    access = [r for r in records if r["logger"] == "slotblock.access"]
    assert [r["request_id"] for r in access if r["route"] == "/calendars/groups"] == ["json-logs-1"]
    assert all("color_message" not in r for r in records)
    # The same workers' /metrics (multiprocess mode): the version, and the scraped
    # worker's process metrics.
    assert (
        f'slotblock_build_info{{python="{platform.python_version()}",version="{__version__}"}} 1.0'
        in scraped
    )
    assert "\nprocess_resident_memory_bytes " in scraped
    assert "\nprocess_cpu_seconds_total " in scraped

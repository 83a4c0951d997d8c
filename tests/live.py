"""A real slotblock HTTP server on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from slotblock.api.app import create_app
from slotblock.config import Settings

T = TypeVar("T")


def free_port() -> int:
    """A TCP port free on the loopback interface now (the benchmark uses it too)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def eventually(
    probe: Callable[[], T], done: Callable[[T], bool], seconds: float = 10.0, every: float = 0.02
) -> T:
    """Call `probe` until `done` holds for its value, for at most `seconds`; the last value
    either way, for the caller to assert on (waits on a server by its state, not a clock)."""
    deadline = time.monotonic() + seconds
    value = probe()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(every)
        value = probe()
    return value


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """Serve `create_app(settings)` with uvicorn; yield its base URL; stop it after."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        assert httpx.get(f"{base}/healthz").status_code == 200
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def wait_ready(base: str, process: subprocess.Popen[Any], seconds: float = 40) -> None:
    """Until `base/readyz` answers 200; fails with the server's stderr if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read() if process.stderr else ""
            text = err.decode() if isinstance(err, bytes) else err
            pytest.fail(f"the server at {base} exited with {process.returncode}: {text[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server at {base} did not become ready")

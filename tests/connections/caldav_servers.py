"""Radicale and Xandikos started empty on loopback (bench/peers.py starts them loaded)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import peers


@contextmanager
def xandikos(root: Path, port: int) -> Iterator[tuple[str, Any]]:
    """Xandikos with one empty calendar collection; yields (collection URL, no auth)."""
    root.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).parent / "xandikos")
    subprocess.run(
        [exe, "create-collection", "-d", str(root), "--type", "calendar", "--name", "calendar"],
        check=True,
        capture_output=True,
    )
    args = [exe, "serve", "-d", str(root), "-l", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(
        [*args, "--current-user-principal", "/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/calendar/"
    try:
        peers._wait(url)
        yield url, None
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def radicale(root: Path, port: int) -> Iterator[tuple[str, Any]]:
    """Radicale with one empty calendar collection; yields (collection URL, auth)."""
    with peers.radicale(root, [], port) as (url, auth):
        yield url, auth

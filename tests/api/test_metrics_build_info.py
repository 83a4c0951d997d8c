"""/metrics of one process names the running version and has the process metrics."""

from __future__ import annotations

import platform

import httpx
import pytest

from slotblock import __version__

pytestmark = pytest.mark.anyio


async def test_build_info_and_process_metrics(client: httpx.AsyncClient) -> None:
    text = (await client.get("/metrics")).text
    labels = f'python="{platform.python_version()}",version="{__version__}"'
    assert f"slotblock_build_info{{{labels}}} 1.0" in text
    assert "\nprocess_resident_memory_bytes " in text
    assert "\nprocess_open_fds " in text

"""CPU jobs run in worker threads, at most SLOTBLOCK_CPU_THREADS at once."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from slotblock.config import Settings
from slotblock.service.cpu import CpuWork

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("threads", [1, 2])
async def test_at_most_the_setting_run_at_once(threads: int) -> None:
    cpu = CpuWork(Settings(database_url="sqlite://", cpu_threads=threads).cpu_threads)
    running, most, lock = 0, 0, threading.Lock()
    loop_thread = threading.get_ident()

    def job() -> int:
        nonlocal running, most
        assert threading.get_ident() != loop_thread  # off the event loop
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return 1

    done: list[int] = []

    async def one() -> None:
        done.append(await cpu.run(job))

    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(one)
    assert done == [1] * 6
    assert most == threads

"""Throwaway databases and `slotblock serve` processes, for tests about several nodes."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.conftest import IN_CI, PG_URL, _pg_execute, pg_url

SLOTBLOCK = [sys.executable, "-m", "slotblock"]
REDIS_URL = os.environ.get("SLOTBLOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@contextmanager
def empty_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    try:
        asyncio.run(_pg_execute("SELECT 1"))
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"CI needs PostgreSQL at {PG_URL}: {exc}")
        pytest.skip(f"no PostgreSQL server answers at {PG_URL} ({exc})")
    name = f"slotblock_fleet_{secrets.token_hex(4)}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url(name)
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def redis_url_or_skip() -> str:
    """A Redis URL whose server answers (skip outside CI when none does)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"CI needs Redis at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis server answers at {REDIS_URL} ({exc})")
    return REDIS_URL


def node_env(**settings: str) -> dict[str, str]:
    """The environment of a node: this one's, minus SLOTBLOCK_ settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBLOCK_")}
    env.update({f"SLOTBLOCK_{k.upper()}": v for k, v in settings.items()})
    return env


def start_node(port: int, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*SLOTBLOCK, "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the workers can be killed with it
    )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the node and its workers, as a crashed machine would stop them."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_group(process)
    if process.stderr:
        process.stderr.close()
